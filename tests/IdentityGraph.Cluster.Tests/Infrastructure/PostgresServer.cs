using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using Npgsql;

namespace IdentityGraph.Cluster.Tests.Infrastructure;

/// <summary>
/// A throw-away PostgreSQL server for one test run, started from the Debian binaries
/// (<c>/usr/lib/postgresql/15/bin</c>, or <c>IDENTITYGRAPH_PG_BIN</c>): its own temporary data directory, a free port
/// on 127.0.0.1 only, the unix socket inside the temporary directory, trust authentication, fsync off (the fixture;
/// measurements can ask for a durable one). As root it runs
/// as the <c>postgres</c> OS user (initdb refuses root). Each test class asks for its own database. Disposing stops
/// the server and deletes everything. scripts/test.sh installs the binaries (postgresql-15). A test can stop the server
/// the hard way (<see cref="StopAsync"/>, <c>pg_ctl stop -m immediate</c>: a crash for every client) and start it again
/// on the same data directory and port (<see cref="StartAgainAsync"/>).
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public const string BinEnvironmentVariable = "IDENTITYGRAPH_PG_BIN";
    private const string DefaultBinDirectory = "/usr/lib/postgresql/15/bin";
    private const string SuperUser = "postgres";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(2);

    private readonly bool _durable;
    private readonly bool _synchronousCommit;
    private int _databases;
    private string? _root;
    private string? _dataDirectory;
    private string? _log;
    private bool _started;
    private bool _running;

    /// <summary>The fixture's server: fsync off, for speed.</summary>
    public PostgresServer()
        : this(durable: false)
    {
    }

    /// <summary>A server that flushes commits to disk (fsync on), for measurements.</summary>
    internal PostgresServer(bool durable)
        : this(durable, synchronousCommit: durable)
    {
    }

    /// <summary>
    /// <paramref name="synchronousCommit"/> on and <paramref name="durable"/> off: fsync stays off, but a commit is handed
    /// to the operating system before the client hears of it, so an immediate stop (<see cref="StopAsync"/>) loses no
    /// acknowledged transaction, as on a production server. The fixture's <c>synchronous_commit=off</c> may drop the last
    /// ~0.6 s of acknowledged commits on an immediate stop: a test that stops the server needs this.
    /// </summary>
    internal PostgresServer(bool durable, bool synchronousCommit)
    {
        _durable = durable;
        _synchronousCommit = synchronousCommit;
    }

    /// <summary>The directory holding initdb, pg_ctl and postgres.</summary>
    public static string BinDirectory { get; } =
        Environment.GetEnvironmentVariable(BinEnvironmentVariable) is { Length: > 0 } dir ? dir : DefaultBinDirectory;

    public static bool BinariesAvailable =>
        File.Exists(Path.Combine(BinDirectory, "initdb")) && File.Exists(Path.Combine(BinDirectory, "pg_ctl"));

    /// <summary>In CI (environment variable CI set) a missing server is a failure, never a skip.</summary>
    public static bool IsRequired => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));

    public static string MissingReason =>
        $"PostgreSQL server binaries are not installed ({BinDirectory}/initdb); run scripts/test.sh or " +
        $"'apt-get install postgresql-15', or set {BinEnvironmentVariable}.";

    public int Port { get; private set; }

    /// <summary>Starts the server; a missing installation fails in CI and leaves the server unstarted elsewhere.</summary>
    public async Task InitializeAsync()
    {
        if (!BinariesAvailable)
        {
            if (IsRequired)
            {
                throw new InvalidOperationException(MissingReason);
            }

            return;
        }

        var asRoot = Environment.UserName == "root";
        _root = Directory.CreateTempSubdirectory("identitygraph-pg-").FullName;
        _dataDirectory = Path.Combine(_root, "data");
        _log = Path.Combine(_root, "server.log");
        if (asRoot)
        {
            await RunAsync("chown", [$"{SuperUser}:{SuperUser}", _root], asPostgres: false);
        }

        await RunAsync(
            Path.Combine(BinDirectory, "initdb"),
            ["-D", _dataDirectory, "-U", SuperUser, "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions"],
            asRoot);

        // A free port can be taken between the probe and the server's bind: try a few.
        for (var attempt = 1; ; attempt++)
        {
            Port = FreePort();
            try
            {
                await PgCtlStartAsync();
                _started = true;
                break;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>True between a start and a stop.</summary>
    public bool IsRunning => _running;

    /// <summary>
    /// <c>pg_ctl stop -m immediate</c>: every server process exits at once, without a checkpoint, and every client's
    /// connection breaks (what a crashed or killed database looks like to its clients). The data directory and port stay.
    /// </summary>
    public async Task StopAsync()
    {
        EnsureStarted();
        NpgsqlConnection.ClearAllPools();
        await RunAsync(
            Path.Combine(BinDirectory, "pg_ctl"),
            ["-D", _dataDirectory!, "-m", "immediate", "-w", "-t", "60", "stop"],
            asPostgres: Environment.UserName == "root");
        _running = false;
    }

    /// <summary>Starts the stopped server again on the same data directory and port (crash recovery runs first); returns when it accepts connections.</summary>
    public async Task StartAgainAsync()
    {
        EnsureStarted();
        if (_running)
        {
            throw new InvalidOperationException("The PostgreSQL server is running.");
        }

        await PgCtlStartAsync();
    }

    private async Task PgCtlStartAsync()
    {
        var options = string.Join(' ', [
            "-c", "listen_addresses=127.0.0.1",
            "-p", Port.ToString(CultureInfo.InvariantCulture),
            "-k", _root!,
            "-c", _durable ? "fsync=on" : "fsync=off",
            "-c", _synchronousCommit ? "synchronous_commit=on" : "synchronous_commit=off",
            "-c", _durable ? "full_page_writes=on" : "full_page_writes=off",
            "-c", "max_connections=500",
        ]);
        try
        {
            await RunAsync(
                Path.Combine(BinDirectory, "pg_ctl"),
                ["-D", _dataDirectory!, "-l", _log!, "-o", options, "-w", "-t", "60", "start"],
                asPostgres: Environment.UserName == "root");
            _running = true;
        }
        catch (InvalidOperationException e)
        {
            var serverLog = File.Exists(_log) ? await File.ReadAllTextAsync(_log!) : "(no server log)";
            throw new InvalidOperationException($"{e.Message}{Environment.NewLine}server log:{Environment.NewLine}{serverLog}", e);
        }
    }

    /// <summary>A new, empty database; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string purpose)
    {
        EnsureStarted();
        var name = $"ig_{Sanitize(purpose)}_{Interlocked.Increment(ref _databases)}";
        await using (var connection = new NpgsqlConnection(ConnectionString("postgres")))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"CREATE DATABASE \"{name}\"";
            await command.ExecuteNonQueryAsync();
        }

        return ConnectionString(name);
    }

    public string ConnectionString(string database)
    {
        EnsureStarted();
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = SuperUser,
            Database = database,
            Pooling = true,
            Timeout = 30,
        };
        return builder.ConnectionString;
    }

    public async Task DisposeAsync()
    {
        if (_root is null)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        if (_running && _dataDirectory is not null)
        {
            try
            {
                await RunAsync(
                    Path.Combine(BinDirectory, "pg_ctl"),
                    ["-D", _dataDirectory, "-m", "immediate", "-w", "-t", "60", "stop"],
                    asPostgres: Environment.UserName == "root");
            }
            catch (InvalidOperationException)
            {
                // Deleting the directory below still removes everything; the postmaster exits when its directory goes.
            }
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }

        _root = null;
    }

    private void EnsureStarted()
    {
        if (!_started)
        {
            throw new InvalidOperationException(MissingReason);
        }
    }

    private static string Sanitize(string purpose)
    {
        var chars = purpose.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).Take(30).ToArray();
        return chars.Length == 0 ? "test" : new string(chars);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task RunAsync(string program, IReadOnlyList<string> arguments, bool asPostgres)
    {
        var start = new ProcessStartInfo
        {
            FileName = asPostgres ? "runuser" : program,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _root ?? Path.GetTempPath(),
        };
        if (asPostgres)
        {
            foreach (var a in (string[])["-u", SuperUser, "--", program])
            {
                start.ArgumentList.Add(a);
            }
        }

        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{Path.GetFileName(program)} did not finish within {CommandTimeout}.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{Path.GetFileName(program)} {string.Join(' ', arguments)} failed with exit code {process.ExitCode}:" +
                $"{Environment.NewLine}{await stdout}{await stderr}");
        }
    }
}

/// <summary>The test classes that share the one PostgreSQL server of a run.</summary>
[CollectionDefinition(Name)]
public sealed class UsesPostgres : ICollectionFixture<PostgresServer>
{
    public const string Name = "PostgreSQL server";
}

/// <summary>A fact that needs PostgreSQL: skipped with a plain reason when it is not installed outside CI; never skipped in CI.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (!PostgresServer.BinariesAvailable && !PostgresServer.IsRequired)
        {
            Skip = PostgresServer.MissingReason;
        }
    }
}
