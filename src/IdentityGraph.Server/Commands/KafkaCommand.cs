using System.CommandLine;
using System.Runtime.InteropServices;
using IdentityGraph.Kafka;
using IdentityGraph.Server.Configuration;

namespace IdentityGraph.Server.Commands;

/// <summary>
/// <c>identitygraph kafka</c>: a development Kafka broker (<see cref="DevBroker"/>) on fixed local ports, so that a
/// developer or a test can run the whole pipeline without a Kafka installation.
/// </summary>
public static class KafkaCommand
{
    public static Command Create()
    {
        var port = new Option<int>("--port")
        {
            Description = "Port of broker 1 on 127.0.0.1; broker i listens on PORT+i-1. 0 picks free ports.",
            DefaultValueFactory = _ => DevBrokerOptions.DefaultPort,
        };
        var brokers = new Option<int>("--brokers")
        {
            Description = $"Number of brokers (1-{DevBrokerOptions.MaxBrokers}).",
            DefaultValueFactory = _ => 1,
        };
        var partitions = new Option<int>("--partitions")
        {
            Description = $"Partitions of each default topic (1-{DevBrokerOptions.MaxPartitions}).",
            DefaultValueFactory = _ => 8,
        };
        var command = new Command("kafka", $"""
            Run a development Kafka broker (librdkafka's mock cluster) on 127.0.0.1 until Ctrl+C or SIGTERM.
            Creates the topics {string.Join(", ", Topics.All)} and prints one line, bootstrap.servers=HOST:PORT[,...],
            on stdout once clients can connect.
            Limits: in memory only (gone when stopped); keeps only about 5 MiB per partition (older records are dropped);
            no transactions (read_committed is ignored); no CreateTopics (a client asking for an unknown topic may get it
            auto-created with 4 partitions). For development and tests only: production uses a real Kafka cluster.
            """)
        {
            port,
            brokers,
            partitions,
        };

        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new DevBrokerOptions
            {
                Port = parse.GetValue(port),
                Brokers = parse.GetValue(brokers),
                Partitions = parse.GetValue(partitions),
            };
            var problems = Validate(options);
            if (problems.Count > 0)
            {
                throw new ConfigurationException(problems);
            }

            DevBroker broker;
            try
            {
                broker = DevBroker.Start(options);
            }
            catch (DevBrokerPortInUseException e)
            {
                throw new ConfigurationException([$"--port: {e.Message}"]);
            }

            await using (broker)
            {
                await Console.Error.WriteLineAsync(
                    $"dev broker: {options.Brokers} broker(s), topics {string.Join(", ", Topics.All)} with {options.Partitions} partitions; " +
                    "in memory, about 5 MiB per partition, no transactions. Ctrl+C stops it.");

                // The one stdout line: scripts and tests wait for it, so it goes out as soon as clients can connect.
                await Console.Out.WriteLineAsync($"bootstrap.servers={broker.BootstrapServers}");
                await Console.Out.FlushAsync(CancellationToken.None);
                // Our own signal handlers: relying on System.CommandLine's token alone, SIGTERM ended the process with the
                // runtime's default exit code 143 before the broker was disposed.
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
                using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
                try
                {
                    await Task.Delay(Timeout.Infinite, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    // SIGINT or SIGTERM: a normal stop.
                }

                void Stop(PosixSignalContext context)
                {
                    context.Cancel = true;
                    stop.Cancel();
                }
            }

            return 0;
        });
        return command;
    }

    internal static List<string> Validate(DevBrokerOptions options)
    {
        var problems = new List<string>();
        if (options.Port is < 0 or > System.Net.IPEndPoint.MaxPort)
        {
            problems.Add($"--port must be between 0 and {System.Net.IPEndPoint.MaxPort} (0 picks free ports).");
        }

        if (options.Brokers is < 1 or > DevBrokerOptions.MaxBrokers)
        {
            problems.Add($"--brokers must be between 1 and {DevBrokerOptions.MaxBrokers}.");
        }

        if (options.Partitions is < 1 or > DevBrokerOptions.MaxPartitions)
        {
            problems.Add($"--partitions must be between 1 and {DevBrokerOptions.MaxPartitions}.");
        }

        if (problems.Count == 0 && options.Port != 0 && options.Port + options.Brokers - 1 > System.Net.IPEndPoint.MaxPort)
        {
            problems.Add($"--port {options.Port} with --brokers {options.Brokers} needs ports past {System.Net.IPEndPoint.MaxPort}.");
        }

        return problems;
    }
}
