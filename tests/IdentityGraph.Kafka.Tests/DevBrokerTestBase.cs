using Confluent.Kafka;
using Microsoft.Data.Sqlite;

namespace IdentityGraph.Kafka.Tests;

/// <summary>
/// A test class's dev broker (its own ports, started per test) and a temporary directory for the node's SQLite journal,
/// both removed afterwards.
/// </summary>
public abstract class DevBrokerTestBase(string directoryPrefix, int partitions) : IAsyncLifetime
{
    protected int Partitions { get; } = partitions;

    protected string WorkDirectory { get; } = Directory.CreateTempSubdirectory(directoryPrefix).FullName;

    protected DevBroker Broker { get; private set; } = null!;

    public virtual Task InitializeAsync()
    {
        Broker = DevBroker.Start(new DevBrokerOptions { Port = 0, Partitions = Partitions });
        return Task.CompletedTask;
    }

    public virtual async Task DisposeAsync()
    {
        await Broker.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(WorkDirectory, recursive: true);
    }

    /// <summary>Every record of <paramref name="topic"/> so far (see <see cref="TestNode.ReadAll"/>).</summary>
    protected List<ConsumeResult<string, byte[]>> ReadAll(string topic) => TestNode.ReadAll(Broker.BootstrapServers, topic, Partitions);
}
