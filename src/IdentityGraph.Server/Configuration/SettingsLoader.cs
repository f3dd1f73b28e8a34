using Microsoft.Extensions.Configuration;

namespace IdentityGraph.Server.Configuration;

/// <summary>
/// Configuration for the command-line tools: appsettings.json beside the executable and in the working directory,
/// then environment variables (<c>IdentityGraph__Section__Key</c>); command-line flags override both.
/// </summary>
public static class SettingsLoader
{
    public static IConfiguration Load() =>
        new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .Build();

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
