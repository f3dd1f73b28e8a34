using System.CommandLine;
using IdentityGraph.Kafka;
using IdentityGraph.Kafka.Hosting;
using IdentityGraph.Server.Configuration;
using IdentityGraph.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityGraph.Server.Commands;

/// <summary>
/// <c>identitygraph serve --kafka HOST:PORT</c>: the production job. Consumes observations, resolves them into the
/// graph, publishes profile events, serves HTTP until SIGTERM, then shuts down gracefully.
/// </summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var kafka = new Option<string?>("--kafka")
        {
            Description = "Kafka bootstrap servers (host:port[,host:port]). Overrides IdentityGraph:Kafka:BootstrapServers.",
        };
        var persistence = PersistenceOption.Create();
        var http = new Option<string?>("--http")
        {
            Description = "Where the HTTP endpoints listen. Default: setting IdentityGraph:Http:Url, else http://127.0.0.1:8080.",
        };
        var grpc = new Option<string?>("--grpc")
        {
            Description = "Where the gRPC lookup service listens (HTTP/2). Default: setting IdentityGraph:Http:GrpcUrl, else http://127.0.0.1:8081; 'none' for no gRPC listener.",
        };
        var embedded = new Option<bool>("--embedded-kafka")
        {
            Description = "Host the dev broker (librdkafka's mock cluster: in memory, 5 MiB per partition, for development) in this process on 127.0.0.1:9092, or on --embedded-kafka-port.",
        };
        var embeddedPort = new Option<int>("--embedded-kafka-port")
        {
            Description = "Port of the embedded dev broker (0 = any free port).",
            DefaultValueFactory = _ => DevBrokerOptions.DefaultPort,
        };
        var command = new Command("serve", "Run the identity graph: Kafka ingestion, resolution, outbox publishing and HTTP, until SIGTERM.")
        {
            kafka,
            persistence,
            http,
            grpc,
            embedded,
            embeddedPort,
        };

        command.SetAction(async (parse, cancellationToken) =>
        {
            var configuration = SettingsLoader.Load();
            await SettingsLoader.Identity(configuration).WarnIfDevelopmentSecretAsync(Console.Error);
            var server = SettingsLoader.Server(configuration);
            var storage = PersistenceOption.Parse(parse.GetValue(persistence), configuration);
            var httpUri = HttpOption(parse.GetValue(http) ?? server.Http.Url);
            await using var broker = parse.GetValue(embedded) ? StartEmbeddedBroker(parse.GetValue(embeddedPort)) : null;
            var options = broker is null ? KafkaSettings(configuration, parse.GetValue(kafka)) : DevBrokerKafkaSettings(configuration, broker);
            if (string.IsNullOrWhiteSpace(options.Ingestion.InstanceId))
            {
                options.Ingestion.InstanceId = server.DefaultInstanceId();
            }

            await IndexSliceCount.ResolveAsync(server.Graph, storage, CancellationToken.None);
            var settings = new NodeSettings(server, storage, options, httpUri, GrpcOption(parse.GetValue(grpc) ?? server.Http.GrpcUrl));
            await using var app = NodeHost.Build(configuration, settings);
            // Not the command's token: the host stops gracefully on SIGTERM by itself, also while it starts.
            await NodeHost.StartAsync(app, CancellationToken.None);
            await Console.Error.WriteLineAsync(
                $"serving: kafka {options.BootstrapServers}, storage {settings.Storage.DisplayString}, http {settings.Http}, grpc {settings.Grpc?.ToString() ?? "none"}");
            await app.WaitForShutdownAsync(CancellationToken.None);
            // A fatal Kafka client error stopped the node: exit non-zero so that the orchestrator starts a new one.
            return app.Services.GetRequiredService<FatalErrors>().Reason is null ? 0 : FatalErrors.ExitCode;
        });
        return command;
    }

    /// <summary>Starts the dev broker in this process and prints its address the way <c>identitygraph kafka</c> does.</summary>
    public static DevBroker StartEmbeddedBroker(int port)
    {
        if (port is < 0 or > 65535)
        {
            throw new ConfigurationException(["--embedded-kafka-port must be between 0 and 65535."]);
        }

        DevBroker broker;
        try
        {
            broker = DevBroker.Start(new DevBrokerOptions { Port = port });
        }
        catch (DevBrokerPortInUseException e)
        {
            throw new ConfigurationException([$"--embedded-kafka: {e.Message}"]);
        }

        Console.Out.WriteLine("bootstrap.servers=" + broker.BootstrapServers);
        Console.Out.Flush();
        return broker;
    }

    /// <summary>Section <c>IdentityGraph:Kafka</c>, with the command line's bootstrap servers on top.</summary>
    public static KafkaOptions KafkaSettings(IConfiguration configuration, string? bootstrapServers)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new KafkaOptions();
        configuration.GetSection(KafkaOptions.Section).Bind(options);
        if (!string.IsNullOrWhiteSpace(bootstrapServers))
        {
            options.BootstrapServers = bootstrapServers;
        }

        return options;
    }

    /// <summary>
    /// Section <c>IdentityGraph:Kafka</c> for the dev broker <paramref name="broker"/>: its address, and its message limit
    /// for the outbox unless configured (it does not answer DescribeConfigs; asking would delay the outbox 5 s).
    /// </summary>
    public static KafkaOptions DevBrokerKafkaSettings(IConfiguration configuration, DevBroker broker)
    {
        ArgumentNullException.ThrowIfNull(broker);
        var options = KafkaSettings(configuration, broker.BootstrapServers);
        if (options.Outbox.MaxMessageBytes == 0)
        {
            options.Outbox.MaxMessageBytes = DevBroker.MaxMessageBytes;
        }

        return options;
    }

    /// <summary>The gRPC listener: an http(s)://HOST:PORT address, or null for none (blank or <c>none</c>).</summary>
    public static Uri? GrpcOption(string? value) =>
        ServerSettings.TryOptionalListenerUrl(value, out var uri)
            ? uri
            : throw new ConfigurationException([$"--grpc: '{value}' is not an http(s)://HOST:PORT address (or 'none')."]);

    public static Uri HttpOption(string? value) =>
        ServerSettings.TryListenerUrl(value, out var uri)
            ? uri
            : throw new ConfigurationException([$"--http: '{value}' is not an http(s)://HOST:PORT address."]);
}
