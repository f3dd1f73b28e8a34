using System.Diagnostics;
using System.Text.Json;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Server.Commands;

namespace IdentityGraph.Server.Tests;

public sealed class NormalizeCommandTests
{
    private static async Task<List<JsonElement>> RunInProcess(string input, NormalizationOptions? options = null)
    {
        var output = new StringWriter();
        await NormalizeCommand.RunAsync(
            new StringReader(input),
            output,
            new IdentifierNormalizer(options ?? NormalizationOptions.Default),
            new IdentifierKeyer(IdentifierKeyer.DevelopmentSecret),
            CancellationToken.None);
        return [.. output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
    }

    [Fact]
    public async Task Each_input_line_gets_exactly_one_output_line_in_order()
    {
        var lines = await RunInProcess("""
            {"type":"PHONE","value":"0045 12 34 56 78","region":"DK"}
            not json
            [1,2]

            {"type":"IDENTIFIER_TYPE_EMAIL","value":"Ann <ANN@Shop.DK>"}
            {"type":"BANANA","value":"x"}
            {"type":"PAYMENT_TOKEN","value":"4111 1111 1111 1111","namespace":"adyen"}
            {"type":"MEMBERSHIP_CARD","value":1234567,"namespace":"club"}
            """);

        Assert.Equal(8, lines.Count);
        Assert.Equal("+4512345678", lines[0].GetProperty("normalized").GetString());
        Assert.Equal("PHONE", lines[0].GetProperty("type").GetString());
        Assert.Equal(64, lines[0].GetProperty("key").GetString()!.Length);
        Assert.Equal(JsonValueKind.Null, lines[0].GetProperty("error").ValueKind);

        foreach (var i in new[] { 1, 2, 3 })
        {
            Assert.Equal(NormalizeCommand.InvalidInputCode, lines[i].GetProperty("error").GetProperty("code").GetString());
            Assert.Equal(JsonValueKind.Null, lines[i].GetProperty("normalized").ValueKind);
            Assert.Equal(JsonValueKind.Null, lines[i].GetProperty("key").ValueKind);
        }

        Assert.Equal("EMAIL", lines[4].GetProperty("type").GetString());
        Assert.Equal("ann@shop.dk", lines[4].GetProperty("normalized").GetString());
        Assert.Equal("BANANA", lines[5].GetProperty("type").GetString());
        Assert.Equal(IdentifierErrorCodes.TypeUnspecified, lines[5].GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(IdentifierErrorCodes.PaymentTokenRawPan, lines[6].GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("1234567", lines[7].GetProperty("normalized").GetString());
    }

    [Fact]
    public async Task The_normalised_value_is_the_value_alone_and_keys_depend_on_namespace()
    {
        var lines = await RunInProcess("""
            {"type":"CUSTOMER_ID","value":"42","namespace":"crm"}
            {"type":"CUSTOMER_ID","value":"42","namespace":"webshop"}
            """);
        Assert.All(lines, l => Assert.Equal("42", l.GetProperty("normalized").GetString()));
        Assert.NotEqual(lines[0].GetProperty("key").GetString(), lines[1].GetProperty("key").GetString());
    }

    [Fact]
    public async Task The_default_region_applies_unless_a_line_names_its_own()
    {
        var lines = await RunInProcess(
            """
            {"type":"PHONE","value":"12 34 56 78"}
            {"type":"PHONE","value":"070-123 45 67","region":"SE"}
            """,
            new NormalizationOptions { DefaultPhoneRegion = "DK" });
        Assert.Equal("+4512345678", lines[0].GetProperty("normalized").GetString());
        Assert.Equal("+46701234567", lines[1].GetProperty("normalized").GetString());
    }

    /// <summary>The README's example, run as a data team would: the real executable, stdin to stdout.</summary>
    [Fact]
    public async Task The_executable_normalises_stdin_to_stdout()
    {
        var (exitCode, stdout, stderr) = await RunExecutable(
            ["normalize"],
            """
            {"type":"PHONE","value":"0045 12 34 56 78","region":"DK"}
            {"type":"EMAIL","value":"no at sign"}
            """);

        Assert.Equal(0, exitCode);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Contains("\"normalized\":\"+4512345678\"", lines[0], StringComparison.Ordinal);
        Assert.Contains("\"error\":{\"code\":\"email.", lines[1], StringComparison.Ordinal);
        Assert.Contains("development secret", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_configured_secret_changes_the_keys_and_silences_the_warning()
    {
        const string Input = """{"type":"EMAIL","value":"ann@shop.dk"}""";
        var (_, development, _) = await RunExecutable(["normalize"], Input);
        var (exitCode, configured, stderr) = await RunExecutable(
            ["normalize"], Input, ("IdentityGraph__Identity__KeySecret", "a-production-secret-0123456789"));
        Assert.Equal(0, exitCode);
        Assert.NotEqual(development, configured);
        Assert.DoesNotContain("development secret", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_configuration_is_a_clear_error_with_exit_code_2()
    {
        var (exitCode, _, stderr) = await RunExecutable(["normalize", "--region", "XX"], "");
        Assert.Equal(2, exitCode);
        Assert.Contains("DefaultPhoneRegion", stderr, StringComparison.Ordinal);
    }

    internal static Task<(int ExitCode, string Stdout, string Stderr)> RunExecutable(
        string[] args, string stdin, params (string Name, string Value)[] environment) =>
        RunExecutable(args, stdin, TimeSpan.FromMinutes(2), environment);

    internal static async Task<(int ExitCode, string Stdout, string Stderr)> RunExecutable(
        string[] args, string stdin, TimeSpan limit, params (string Name, string Value)[] environment)
    {
        var start = StartInfo(args);
        start.RedirectStandardInput = true;
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(limit);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>How the tests start the real executable: <c>dotnet identitygraph.dll ARGS</c>, output redirected.</summary>
    internal static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "identitygraph.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }
}
