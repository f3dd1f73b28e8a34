using Microsoft.Extensions.Configuration;

namespace IdentityGraph.Server.Configuration;

/// <summary>
/// Configuration for the command-line tools: appsettings.json beside the executable and in the working directory,
/// then environment variables (<c>IdentityGraph__Section__Key</c>); command-line flags override both.
/// </summary>
public static class SettingsLoader
{
    /// <summary>The configuration; a key under <c>IdentityGraph:</c> that is not a setting is refused (a typo would
    /// otherwise run silently on the default).</summary>
    public static IConfiguration Load()
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .Build();
        var unknown = SettingsCatalog.UnknownKeys(configuration);
        return unknown.Count > 0 ? throw new ConfigurationException(unknown) : configuration;
    }

    public static ServerSettings Server(IConfiguration configuration)
    {
        var settings = new ServerSettings();
        configuration.GetSection(ServerSettings.Section).Bind(settings);
        return settings;
    }

    public static IdentitySettings Identity(IConfiguration configuration)
    {
        var settings = new IdentitySettings();
        configuration.GetSection(IdentitySettings.Section).Bind(settings);
        return settings;
    }
}

/// <summary>A configuration problem reported to the user as a clear message and exit code 2, never a stack trace.</summary>
public sealed class ConfigurationException(IReadOnlyList<string> problems)
    : Exception("Invalid configuration:" + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  - " + p)))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
