using Akka.Actor;
using Akka.Persistence;
using Google.Protobuf;

namespace IdentityGraph.Cluster.Tests.Infrastructure;

/// <summary>
/// A minimal persistent actor for the persistence tests: journals the protobuf events it is given (one by one with
/// Persist, or in one batch with PersistAll) and answers with what it holds after recovery.
/// </summary>
public sealed class JournalProbe : ReceivePersistentActor
{
    private readonly List<IMessage> _events = [];

    public JournalProbe(string persistenceId)
    {
        PersistenceId = persistenceId;

        Recover<IMessage>(_events.Add);

        Command<Append>(append => Persist(append.Event, e =>
        {
            _events.Add(e);
            Sender.Tell(new Appended(LastSequenceNr));
        }));

        Command<AppendAll>(append =>
        {
            var remaining = append.Events.Count;
            var replyTo = Sender;
            PersistAll(append.Events, e =>
            {
                _events.Add(e);
                if (--remaining == 0)
                {
                    replyTo.Tell(new Appended(LastSequenceNr));
                }
            });
        });

        Command<GetEvents>(_ => Sender.Tell(new Events([.. _events], LastSequenceNr)));
    }

    public override string PersistenceId { get; }

    public static Props Props(string persistenceId) => Akka.Actor.Props.Create(() => new JournalProbe(persistenceId));

    public sealed record Append(IMessage Event);

    public sealed record AppendAll(IReadOnlyList<IMessage> Events);

    public sealed record Appended(long SequenceNr);

    public sealed record GetEvents
    {
        public static GetEvents Instance { get; } = new();
    }

    public sealed record Events(IReadOnlyList<IMessage> All, long LastSequenceNr);
}
