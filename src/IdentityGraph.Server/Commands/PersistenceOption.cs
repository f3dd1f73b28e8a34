using System.CommandLine;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Server.Configuration;

namespace IdentityGraph.Server.Commands;

/// <summary>The <c>--persistence</c> option shared by the commands that open the graph.</summary>
public static class PersistenceOption
{
    public static Option<string?> Create() => new("--persistence")
    {
        Description = "Where the graph is stored: sqlite:PATH or \"postgres:CONNECTION STRING\". " +
            $"Default: setting IdentityGraph:Persistence, else {StorageSettings.DefaultSpec}.",
    };

    /// <summary>
    /// The flag's value, else the <c>IdentityGraph:Persistence</c> setting, else the default; a bad value is a
    /// configuration error (exit code 2), not a crash.
    /// </summary>
    public static StorageSettings Parse(string? flag, Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        var server = SettingsLoader.Server(configuration);
        var (specification, origin) = flag is not null
            ? (flag, "--persistence")
            : (server.Persistence, ServerSettings.Section + ":Persistence");
        try
        {
            return StorageSettings.Parse(specification, maxPoolSize: server.Journal.MaxPoolSize);
        }
        catch (StorageSettingsException e)
        {
            throw new ConfigurationException([$"{origin}: {e.Message}"]);
        }
    }
}
