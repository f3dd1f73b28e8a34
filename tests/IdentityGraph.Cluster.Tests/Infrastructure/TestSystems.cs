using Akka.Actor;
using Akka.Configuration;
using IdentityGraph.Cluster.Persistence;

namespace IdentityGraph.Cluster.Tests.Infrastructure;

/// <summary>Actor systems over a real database, configured exactly as production plus the test serializer.</summary>
public static class TestSystems
{
    public static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);

    public static ActorSystem Start(StorageSettings storage, string name, PersistenceTuning? tuning = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        storage.Prepare();
        var config = ConfigurationFactory
            .ParseString(TestProtobufSerializer.Hocon + Environment.NewLine + "akka.loglevel = WARNING\nakka.stdout-loglevel = WARNING")
            .WithFallback(PersistenceHocon.ToConfig(storage, tuning));
        return ActorSystem.Create(name, config);
    }
}
