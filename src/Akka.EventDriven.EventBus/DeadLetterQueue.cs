using Akka.EventDriven.EventBus.Internal;

namespace Akka.EventDriven.EventBus;

/// <summary>A dead-letter queue: list, count, replay or purge what failed. Stored in the event store's database
/// (table <c>bus_dead_letters</c>), so it survives restarts.</summary>
public sealed class DeadLetterQueue
{
    private readonly MessageBus _bus;
    private readonly BusStore _store;

    internal DeadLetterQueue(MessageBus bus, BusStore store, string name)
    {
        TopicNames.Validate(name, kind: "dead-letter queue");
        _bus = bus;
        _store = store;
        Name = name;
    }

    /// <summary>The queue's name.</summary>
    public string Name { get; }

    /// <summary>Up to <paramref name="limit"/> dead letters after id <paramref name="afterId"/>, oldest first.</summary>
    public Task<IReadOnlyList<DeadLetter>> ListAsync(int limit = 100, long afterId = 0)
    {
        if (limit < 1) throw new ArgumentOutOfRangeException(nameof(limit), "List at least one dead letter.");
        return _store.ListDeadLettersAsync(Name, limit, afterId);
    }

    /// <summary>How many dead letters the queue holds.</summary>
    public Task<long> CountAsync() => _store.CountDeadLettersAsync(Name);

    /// <summary>Publishes dead letter <paramref name="id"/> again to its original topic (durably if it came from a
    /// durable topic) or queue, then removes it. The message keeps its id; header <c>x-replayed-from</c> names this
    /// queue. Returns false when no such dead letter exists.</summary>
    public async Task<bool> ReplayAsync(long id)
    {
        var letters = await _store.ListDeadLettersAsync(Name, 1, id - 1);
        if (letters.Count == 0 || letters[0].Id != id) return false;
        var letter = letters[0];
        // The marks of an unreadable log entry go: the replayed message is delivered like any other (and dead-lettered
        // again, with the handler's error, if it still cannot be read).
        var headers = letter.Headers.Where(h => !h.Key.StartsWith(UnreadableEntries.ReservedPrefix, StringComparison.Ordinal))
            .ToDictionary(h => h.Key, h => h.Value);
        headers["x-replayed-from"] = Name;
        var envelope = new BusEnvelope(letter.MessageId, letter.OriginalTopic, letter.Type,
            System.Text.Encoding.UTF8.GetBytes(letter.Json), DateTime.UtcNow.Ticks, letter.CorrelationId, headers);
        await _bus.RepublishAsync(envelope, letter.Source);
        await _store.DeleteDeadLettersAsync(Name, id);
        return true;
    }

    /// <summary>Deletes every dead letter of the queue; returns how many were deleted.</summary>
    public Task<int> PurgeAsync() => _store.DeleteDeadLettersAsync(Name, null);
}
