namespace IdentityGraph.Kafka;

/// <summary>A fixed port of the <see cref="DevBroker"/> is taken. Ports are fixed on purpose, so this is not retried.</summary>
public sealed class DevBrokerPortInUseException : IOException
{
    public DevBrokerPortInUseException()
    {
    }

    public DevBrokerPortInUseException(string message)
        : base(message)
    {
    }

    public DevBrokerPortInUseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public DevBrokerPortInUseException(int port, Exception innerException)
        : base(
            $"127.0.0.1:{port} is already in use (another Kafka or dev broker?). Stop it, or choose another port.",
            innerException) =>
        Port = port;

    /// <summary>The port that is taken.</summary>
    public int Port { get; }
}
