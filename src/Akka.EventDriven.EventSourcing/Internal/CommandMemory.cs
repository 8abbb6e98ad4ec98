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
/// by the window and by a count (<c>max-remembered-commands</c>). The first id is kept in fields of its own: most
/// aggregates at rest remember one or two, and a dictionary with its order queue costs about 450 B before its first
/// entry. A second id moves them into a dictionary and a queue.
/// </summary>
internal sealed class CommandMemory
{
    private CommandKey _oneId;
    private FirstAnswer _oneAnswer;
    private long _oneAt;
    private bool _hasOne;
    private Dictionary<CommandKey, FirstAnswer>? _ids;
    private Queue<(CommandKey Id, long At)>? _order;

    /// <summary>How many ids are remembered.</summary>
    public int Count => _ids?.Count ?? (_hasOne ? 1 : 0);

    /// <summary>The first answer of <paramref name="id"/>, if it is remembered.</summary>
    public bool TryGet(CommandKey id, out FirstAnswer answer)
    {
        if (_ids is not null) return _ids.TryGetValue(id, out answer);
        if (_hasOne && _oneId.Equals(id))
        {
            answer = _oneAnswer;
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
            if (_hasOne && (_oneAt < since || max <= 1)) _hasOne = false;
            if (!_hasOne)
            {
                (_oneId, _oneAnswer, _oneAt, _hasOne) = (id, answer, at, true);
                return;
            }
            if (_oneId.Equals(id)) return;
            _ids = new Dictionary<CommandKey, FirstAnswer> { [_oneId] = _oneAnswer };
            _order = new Queue<(CommandKey, long)>();
            _order.Enqueue((_oneId, _oneAt));
            (_oneId, _oneAnswer, _hasOne) = (default, default, false);
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
            if (_hasOne) yield return (_oneId, _oneAt, _oneAnswer);
            yield break;
        }
        var all = _order!.ToArray();
        for (var i = all.Length - 1; i >= 0; i--)
            if (_ids.TryGetValue(all[i].Id, out var answer)) yield return (all[i].Id, all[i].At, answer);
    }
}
