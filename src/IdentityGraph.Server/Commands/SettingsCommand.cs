using System.CommandLine;
using IdentityGraph.Server.Configuration;
using IdentityGraph.Server.Hosting;

namespace IdentityGraph.Server.Commands;

/// <summary>
/// <c>identitygraph settings [--check]</c>: lists every setting the program reads (key, environment variable,
/// default); with <c>--check</c> it validates the current configuration (appsettings.json and environment) the way
/// <c>serve</c> would at start, and exits 2 naming each problem.
/// </summary>
public static class SettingsCommand
{
    public static Command Create()
    {
        var check = new Option<bool>("--check")
        {
            Description = "Validate the current configuration (appsettings.json, IdentityGraph__… variables); exit 2 on problems.",
        };
        var command = new Command("settings", "List every setting with its environment variable and default, or check the current configuration.")
        {
            check,
        };
        command.SetAction(parse =>
        {
            if (!parse.GetValue(check))
            {
                Console.Out.WriteLine("setting\tenvironment variable\tdefault");
                foreach (var setting in SettingsCatalog.All)
                {
                    Console.Out.WriteLine($"{setting.Key}\t{setting.EnvironmentVariable}\t{setting.Default}");
                }

                return 0;
            }

            var configuration = SettingsLoader.Load();
            var server = SettingsLoader.Server(configuration);
            var identity = SettingsLoader.Identity(configuration);
            var problems = identity.Validate()
                .Concat(server.Validate())
                .Concat(ServeCommand.KafkaSettings(configuration, null).Validate(requireBootstrapServers: false))
                .ToList();
            // Bad listener URLs are already among the problems; the key rule needs usable ones.
            if (ServerSettings.TryListenerUrl(server.Http.Url, out var http) && ServerSettings.TryOptionalListenerUrl(server.Http.GrpcUrl, out var grpc))
            {
                problems.AddRange(ListenerRule.For(server, identity).Problems(ListenerRule.Configured(configuration, http, grpc)));
            }

            try
            {
                PersistenceOption.Parse(null, configuration);
            }
            catch (ConfigurationException e)
            {
                problems.AddRange(e.Problems);
            }

            if (problems.Count > 0)
            {
                throw new ConfigurationException(problems);
            }

            Console.Out.WriteLine("configuration ok");
            return 0;
        });
        return command;
    }
}
