using System.Collections.Frozen;
using Akka.Persistence.Journal;
using IdentityGraph.Cluster.Wire;

namespace IdentityGraph.Cluster.Persistence;

/// <summary>
/// Write-side event adapter: wraps the profile slices' events in <see cref="Tagged"/> with the tag
/// <see cref="PersistenceHocon.ProfileTag"/>, so that the outbox finds them with <c>CurrentEventsByTag</c>.
/// Every other event passes through unchanged. Bound in HOCON by <see cref="PersistenceHocon"/>
/// (to <c>Google.Protobuf.IMessage</c>); Akka creates it with the parameterless constructor.
/// </summary>
public sealed class ProfileTagAdapter : IWriteEventAdapter
{
    private static readonly FrozenSet<Type> Defaults = new[] { typeof(ProfileSliceChangedEvent) }.ToFrozenSet();

    private readonly FrozenSet<Type> _tagged;
    private readonly IReadOnlySet<string> _tags;

    /// <summary>Tags the profile slices' events of the internal schema (graph.proto).</summary>
    public ProfileTagAdapter()
        : this(Defaults)
    {
    }

    /// <summary>Tags events whose exact CLR type is one of <paramref name="taggedTypes"/>.</summary>
    public ProfileTagAdapter(IEnumerable<Type> taggedTypes)
    {
        ArgumentNullException.ThrowIfNull(taggedTypes);
        _tagged = taggedTypes.ToFrozenSet();
        _tags = new HashSet<string> { PersistenceHocon.ProfileTag };
    }

    /// <summary>The CLR types tagged by default: the profile slices' events of graph.proto.</summary>
    public static IReadOnlySet<Type> DefaultTaggedTypes => Defaults;

    /// <summary>The types this instance tags.</summary>
    public IReadOnlySet<Type> TaggedTypes => _tagged;

    /// <summary>No manifest of its own: the serializer supplies the payload manifest.</summary>
    public string Manifest(object evt) => string.Empty;

    public object ToJournal(object evt)
    {
        ArgumentNullException.ThrowIfNull(evt);
        return evt is not Tagged && _tagged.Contains(evt.GetType()) ? new Tagged(evt, _tags) : evt;
    }
}
