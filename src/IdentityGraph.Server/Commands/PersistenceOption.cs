using System.CommandLine;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Server.Configuration;

namespace IdentityGraph.Server.Commands;

/// <summary>The <c>--persistence</c> option shared by the commands that open the graph.</summary>
public static class PersistenceOption
{
    public static Option<string> Create() => new("--persistence")
    {
        Description = $"Where the graph is stored: sqlite:PATH or \"postgres:CONNECTION STRING\". Default: {StorageSettings.DefaultSpec}.",
        DefaultValueFactory = _ => StorageSettings.DefaultSpec,
    };

    /// <summary>Parses the option; a bad value is a configuration error (exit code 2), not a crash.</summary>
    public static StorageSettings Parse(string? specification)
    {
        try
        {
            return StorageSettings.Parse(specification ?? StorageSettings.DefaultSpec);
        }
        catch (StorageSettingsException e)
        {
            throw new ConfigurationException([$"--persistence: {e.Message}"]);
        }
    }
}
