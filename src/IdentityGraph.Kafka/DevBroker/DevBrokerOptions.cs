using System.Net;

namespace IdentityGraph.Kafka;

/// <summary>How to start a <see cref="DevBroker"/>.</summary>
public sealed record DevBrokerOptions
{
    public const int DefaultPort = 9092;
    public const int MaxBrokers = 9;
    public const int MaxPartitions = 1000;

    /// <summary>
    /// Port of broker 1 on 127.0.0.1; broker i listens on <c>Port + i - 1</c>. 0 picks free ports (not necessarily
    /// consecutive), which lets tests run in parallel.
    /// </summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>Number of brokers, 1 to <see cref="MaxBrokers"/>.</summary>
    public int Brokers { get; init; } = 1;

    /// <summary>Partitions of each default topic (<see cref="Topics.All"/>), 1 to <see cref="MaxPartitions"/>.</summary>
    public int Partitions { get; init; } = 8;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(Port);
        ArgumentOutOfRangeException.ThrowIfLessThan(Brokers, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Brokers, MaxBrokers);
        ArgumentOutOfRangeException.ThrowIfLessThan(Partitions, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Partitions, MaxPartitions);
        if (Port != 0 && Port + Brokers - 1 > IPEndPoint.MaxPort)
        {
            throw new ArgumentOutOfRangeException(
                nameof(Port), Port, $"Ports {Port}..{Port + Brokers - 1} for {Brokers} brokers go past {IPEndPoint.MaxPort}.");
        }
    }
}
