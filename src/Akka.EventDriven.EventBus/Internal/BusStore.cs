using System.Data.Common;
using Akka.EventDriven.Storage;

namespace Akka.EventDriven.EventBus.Internal;

/// <summary>The bus's own tables, in the event store's database: consumer offsets and dead letters. The SQL lives in
/// Storage (<see cref="BusTables"/>); this facade adds the bus's naming (consumer ids, the retention marker) and maps
/// rows to the bus's types.</summary>
internal sealed class BusStore(StoreSettings store)
{
    private readonly BusTables _tables = new(store);

    public StoreSettings Settings => store;

    public Task<DbConnection> OpenAsync(CancellationToken ct = default) => _tables.OpenAsync(ct);

    public Task<long> LoadOffsetAsync(string consumerId) => _tables.LoadOffsetAsync(consumerId);

    public Task SaveOffsetAsync(string consumerId, long sequenceNr) => _tables.SaveOffsetAsync(consumerId, sequenceNr);

    /// <summary>Gives consumer <paramref name="consumerId"/> of <paramref name="logId"/> an offset (at the retention floor)
    /// unless it has one, so that retention waits for it from now on; its stored or new offset.</summary>
    public Task<long> RegisterConsumerAsync(string consumerId, string logId) =>
        _tables.RegisterConsumerAsync(consumerId, RetentionMarker(logId));

    /// <summary>The offset row that records how far retention deleted a log (group names cannot contain '$').</summary>
    public static string RetentionMarker(string logId) => BusNames.Consumer(logId, "$retained");

    /// <summary>Where consumer <paramref name="consumerId"/> of <paramref name="logId"/> starts: its stored offset, or
    /// the retention floor when retention deleted past it (a group that never consumed the log).</summary>
    public async Task<long> LoadStartAsync(string consumerId, string logId) =>
        Math.Max(await LoadOffsetAsync(consumerId), await LoadOffsetAsync(RetentionMarker(logId)));

    /// <summary>Deletes the oldest rows of log <paramref name="logId"/>: those older than <paramref name="maxAge"/> or
    /// beyond the newest <paramref name="maxMessages"/>, but none after the slowest group's stored offset and never the
    /// newest row (it keeps the log's highest sequence number). Returns the floor (0 when nothing was ever deleted).</summary>
    public Task<long> ApplyRetentionAsync(string logId, string persistenceId, TimeSpan? maxAge, long? maxMessages) =>
        _tables.ApplyRetentionAsync(persistenceId, BusNames.Consumer(logId, ""), RetentionMarker(logId), maxAge, maxMessages);

    /// <summary>Journal rows of <paramref name="persistenceId"/> after <paramref name="after"/>, in order.</summary>
    public async Task<List<(long Seq, byte[] Payload, string Manifest, int SerializerId)>> ReadLogAsync(
        string persistenceId, long after, int limit) =>
        (await _tables.ReadLogAsync(persistenceId, after, limit))
        .Select(r => (r.SequenceNr, r.Payload, r.Manifest, r.SerializerId)).ToList();

    /// <summary>Highest sequence number of <paramref name="persistenceId"/> (0 when empty).</summary>
    public Task<long> HeadAsync(string persistenceId) => _tables.HeadAsync(persistenceId);

    public Task AddDeadLetterAsync(string queue, string sourceKind, BusEnvelope message, string reason, int attempts, string subscriber) =>
        _tables.AddDeadLetterAsync(new NewDeadLetter(queue, message.Id, sourceKind, message.Topic, message.Type,
            System.Text.Encoding.UTF8.GetString(message.Data), message.PublishedAtTicks, message.CorrelationId, message.Headers,
            reason, attempts, subscriber));

    /// <summary>NUL written as the JSON escape <c>\u0000</c> (readable, and accepted by every text column).</summary>
    internal static string Text(string value) => StoreErrors.Text(value);

    /// <summary>True for a database error that retrying the same row cannot fix: PostgreSQL's data exceptions (22xxx),
    /// integrity violations (23xxx) and syntax/access errors (42xxx); SQLite's too big (18), constraint (19) and type
    /// mismatch (20).</summary>
    internal static bool IsPermanent(Exception e) => StoreErrors.IsPermanent(e);

    public async Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(string queue, int limit, long afterId) =>
        (await _tables.ListDeadLettersAsync(queue, limit, afterId)).Select(d => new DeadLetter(d.Id, d.Queue, d.MessageId,
            Enum.Parse<DeadLetterSource>(d.SourceKind, true), d.Source, d.Type, d.Data, d.PublishedAt, d.CorrelationId, d.Headers,
            d.Reason, d.Attempts, d.Subscriber, d.DeadLetteredAt)).ToList();

    public Task<long> CountDeadLettersAsync(string queue) => _tables.CountDeadLettersAsync(queue);

    /// <summary>Deletes one dead letter (id &gt; 0) or all of a queue (id null); returns how many went.</summary>
    public Task<int> DeleteDeadLettersAsync(string queue, long? id) => _tables.DeleteDeadLettersAsync(queue, id);
}
