namespace Akka.EventDriven.EventSourcing.Internal;

/// <summary>The first answer to a command id, as remembered: a command whose events were written (the version after
/// them and how many they were: the result is read back), or the reply itself (a rejection, a command that raised
/// nothing, a write the journal refused: small, and nothing to read back). A struct, kept inline.</summary>
internal readonly record struct FirstAnswer(long Version, int Events, object? Reply)
{
    public static FirstAnswer Stored(long version, int events) => new(version, events, null);
}

/// <summary>
/// The command ids one aggregate stored within its idempotency window, with their first answers, oldest first; bounded
/// by the window and by a count (<c>max-remembered-commands</c>). Up to <see cref="SmallCapacity"/> ids are kept in a
/// small array searched in order: most aggregates at rest remember a few, and a dictionary with its order queue costs
/// about 450 B before its first entry. More move into a dictionary and a queue.
/// </summary>
internal sealed class CommandMemory
{
    private const int SmallCapacity = 4;

    private (CommandKey Id, FirstAnswer Answer, long At)[]? _small = new (CommandKey, FirstAnswer, long)[1];
    private int _smallCount;
    private Dictionary<CommandKey, FirstAnswer>? _ids;
    private Queue<(CommandKey Id, long At)>? _order;

    /// <summary>How many ids are remembered.</summary>
    public int Count => _ids?.Count ?? _smallCount;

    /// <summary>The first answer of <paramref name="id"/>, if it is remembered.</summary>
    public bool TryGet(CommandKey id, out FirstAnswer answer)
    {
        if (_ids is not null) return _ids.TryGetValue(id, out answer);
        for (var i = 0; i < _smallCount; i++)
            if (_small![i].Id.Equals(id))
            {
                answer = _small[i].Answer;
                return true;
            }
        answer = default;
        return false;
    }

    /// <summary>Remembers <paramref name="id"/> stored at <paramref name="at"/> (UTC ticks) unless it already is, after
    /// letting go of the ids stored before <paramref name="since"/> and the oldest beyond <paramref name="max"/>.</summary>
    public void Add(CommandKey id, FirstAnswer answer, long at, long since, int max)
    {
        if (_ids is null)
        {
            var small = _small!;
            var drop = 0;
            while (drop < _smallCount && (small[drop].At < since || _smallCount - drop >= max)) drop++;
            if (drop > 0)
            {
                Array.Copy(small, drop, small, 0, _smallCount - drop);
                Array.Clear(small, _smallCount - drop, drop);
                _smallCount -= drop;
            }
            if (TryGet(id, out _)) return;
            if (_smallCount < SmallCapacity)
            {
                if (_smallCount == small.Length) Array.Resize(ref _small, Math.Min(SmallCapacity, small.Length * 2));
                _small![_smallCount++] = (id, answer, at);
                return;
            }
            _ids = new Dictionary<CommandKey, FirstAnswer>(SmallCapacity * 2);
            _order = new Queue<(CommandKey, long)>(SmallCapacity * 2);
            foreach (var (i, a, t) in small)
            {
                _ids[i] = a;
                _order.Enqueue((i, t));
            }
            _small = null;
            _smallCount = 0;
        }
        while (_order!.TryPeek(out var oldest) && (oldest.At < since || _order.Count >= max))
            _ids.Remove(_order.Dequeue().Id);
        if (_ids.TryAdd(id, answer)) _order.Enqueue((id, at));
    }

    /// <summary>The remembered ids, newest first, with when they were stored and their answers.</summary>
    public IEnumerable<(CommandKey Id, long At, FirstAnswer Answer)> NewestFirst()
    {
        if (_ids is null)
        {
            for (var i = _smallCount - 1; i >= 0; i--) yield return (_small![i].Id, _small[i].At, _small[i].Answer);
            yield break;
        }
        var all = _order!.ToArray();
        for (var i = all.Length - 1; i >= 0; i--)
            if (_ids.TryGetValue(all[i].Id, out var answer)) yield return (all[i].Id, all[i].At, answer);
    }
}
