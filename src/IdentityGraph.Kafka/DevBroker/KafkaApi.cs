namespace IdentityGraph.Kafka;

/// <summary>
/// Kafka protocol request types (the protocol's <c>ApiKey</c> numbers), for <see cref="DevBroker.FailRequests"/>. Only the
/// requests our clients send are named; the numbers are fixed by the Kafka protocol.
/// </summary>
public enum KafkaApi : short
{
    Produce = 0,
    Fetch = 1,
    ListOffsets = 2,
    Metadata = 3,
    OffsetCommit = 8,
    OffsetFetch = 9,
    FindCoordinator = 10,
    JoinGroup = 11,
    Heartbeat = 12,
    LeaveGroup = 13,
    SyncGroup = 14,
    ApiVersions = 18,
    InitProducerId = 22,
    DescribeConfigs = 32,
    ConsumerGroupHeartbeat = 68,
}
