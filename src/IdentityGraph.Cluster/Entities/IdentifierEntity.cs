using Akka.Actor;
using Akka.Persistence;
using IdentityGraph.Cluster.Wire;

namespace IdentityGraph.Cluster.Entities;

/// <summary>
/// One per identifier key; owns one fact: which profile holds the identifier. Claims are compare-and-set, so two
/// observations racing for a new identifier agree on one owner; the loser merges with it. The owner only ever moves
/// to a smaller (older) profile id, the survivor of a merge.
/// </summary>
internal sealed class IdentifierEntity : ReceivePersistentActor
{
    public const string TypeName = "identifier";

    private string owner = "";

    public IdentifierEntity(string key)
    {
        PersistenceId = TypeName + "-" + key;

        // One small event per owner change and no snapshots: skipping the snapshot store saves a query per activation.
        SnapshotPluginId = "akka.persistence.no-snapshot-store";

        Recover<IdentifierOwnerSetEvent>(e => owner = e.Owner);

        Command<GetIdentifierOwner>(m => Sender.Tell(new IdentifierOwner { Key = m.Key, Owner = owner }));
        Command<ClaimIdentifier>(m =>
        {
            if (owner.Length > 0)
            {
                Sender.Tell(new IdentifierOwner { Key = m.Key, Owner = owner });
                return;
            }

            SetOwner(m.Key, m.Candidate);
        });
        Command<RepointIdentifier>(m =>
        {
            if (owner == m.From && string.CompareOrdinal(m.To, m.From) < 0)
            {
                SetOwner(m.Key, m.To);
            }
            else
            {
                Sender.Tell(new IdentifierOwner { Key = m.Key, Owner = owner });
            }
        });
        Command<StopEntity>(_ => Context.Stop(Self));
    }

    public override string PersistenceId { get; }

    public static Props PropsFor(string key) => Props.Create(() => new IdentifierEntity(key));

    // Persist (not PersistAsync): commands are stashed until the owner is durable, so no one hears of an owner
    // that a crash could still take back.
    private void SetOwner(string key, string newOwner) =>
        Persist(new IdentifierOwnerSetEvent { Owner = newOwner }, e =>
        {
            owner = e.Owner;
            Sender.Tell(new IdentifierOwner { Key = key, Owner = owner });
        });
}
