using Confluent.Kafka;

namespace Akka.EventDriven.Kafka;

/// <summary>
/// What may be committed, per consumer, topic and partition: the offset after the last message such that every
/// message the source emitted before it (by <see cref="ICommittable.Sequence"/>) was processed. Messages processed
/// out of order wait until the ones before them arrive. Used by one stage (no locking). In order, a message costs an
/// array load and a compare; only out-of-order ones touch a dictionary.
/// </summary>
internal sealed class OffsetTracker
{
    /// <summary>Processed messages a partition may hold behind one that has not arrived, before the stage fails: a
    /// message that never arrives (filtered out, or dropped by Resume supervision) would otherwise grow this forever
    /// while its partition's commit stays where it is.</summary>
    internal const int DefaultMaxHeldBack = 100_000;

    private readonly int _maxHeldBack;

    private readonly Dictionary<(ConsumerHandle, string), Progress?[]> _topics = new();
    private ConsumerHandle? _lastHandle;
    private string? _lastTopic;
    private Progress?[] _last = [];

    public OffsetTracker(int maxHeldBack = DefaultMaxHeldBack) => _maxHeldBack = maxHeldBack;

    /// <summary>Records <paramref name="c"/> as processed.</summary>
    public void Processed(ICommittable c)
    {
        var handle = c.Consumer;
        var topic = c.Topic;
        if (!ReferenceEquals(handle, _lastHandle) || !string.Equals(topic, _lastTopic, StringComparison.Ordinal))
        {
            if (!_topics.TryGetValue((handle, topic), out var slots)) _topics[(handle, topic)] = slots = new Progress?[16];
            (_lastHandle, _lastTopic, _last) = (handle, topic, slots);
        }
        var partition = c.Partition;
        if (partition >= _last.Length)
        {
            var grown = new Progress?[Math.Max(partition + 1, _last.Length * 2)];
            _last.CopyTo(grown, 0);
            _topics[(handle, topic)] = _last = grown;
        }
        var p = _last[partition] ??= new Progress();
        var sequence = c.Sequence;
        if (sequence == p.NextSequence)
        {
            p.NextOffset = c.Next;
            p.NextSequence++;
            p.Dirty = true;
            if (p.Waiting is { Count: > 0 } waiting)
                while (waiting.Remove(p.NextSequence, out var next))
                {
                    p.NextOffset = next;
                    p.NextSequence++;
                }
        }
        else if (sequence > p.NextSequence)
        {
            var waiting = p.Waiting ??= new Dictionary<long, long>();
            waiting.TryAdd(sequence, c.Next);       // a committable seen twice counts once
            if (waiting.Count > _maxHeldBack)
                throw new InvalidOperationException(
                    $"Kafka {topic} [{partition}]: {waiting.Count} processed messages wait behind one emitted after offset {p.NextOffset - 1} that never " +
                    "reached the commit: every consumed message must reach it (pass a filtered or dead-lettered message's Offset on).");
        }
        // A lower sequence was processed already (a duplicate): nothing to do.
    }

    /// <summary>The committable offsets of <paramref name="handle"/> that moved since the last call, or null.</summary>
    public List<TopicPartitionOffset>? Take(ConsumerHandle handle)
    {
        List<TopicPartitionOffset>? list = null;
        foreach (var ((h, topic), slots) in _topics)
        {
            if (!ReferenceEquals(h, handle)) continue;
            for (var i = 0; i < slots.Length; i++)
            {
                if (slots[i] is not { Dirty: true } p) continue;
                p.Dirty = false;
                (list ??= new()).Add(new TopicPartitionOffset(topic, new Partition(i), new Offset(p.NextOffset)));
            }
        }
        return list;
    }

    private sealed class Progress
    {
        public long NextSequence;
        public long NextOffset = -1;
        public bool Dirty;
        public Dictionary<long, long>? Waiting;
    }
}
