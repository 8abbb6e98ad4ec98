using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace Akka.EventDriven.Storage;

/// <summary>
/// The write path shared by Akka.EventDriven's journals (<see cref="PostgreSqlJournal"/>, <see cref="SqliteJournal"/>):
/// they use the tables of Akka.Persistence.Sql's mappings, so its read journal and snapshot store work unchanged,
/// but writes are group-committed. Every write request that arrives while a batch is being stored joins the next
/// batch; the caller that finds a free writer slot (at most <c>parallelism</c>) stores everything queued itself, in
/// one transaction; a write is acknowledged only after that transaction commits. If a batch fails for a reason that
/// is not transient, its requests are retried one by one so that a single bad write (a sequence-number clash from a
/// second writer, a value the database rejects) fails only its own actor. A request still queued when the
/// circuit-breaker call-timeout passes is never written and fails; once a writer has claimed it, its caller waits for
/// the real outcome (a failure reported while the write may still commit would let a new incarnation recover a stale
/// highest sequence number). Write replies are sent as each write completes, in order per persistent actor only
/// (Akka.Persistence's default resequences them across all actors, so one stuck transaction would hold back the
/// acknowledgements of every aggregate on the node).
/// </summary>
public abstract class BatchingJournal : AsyncWriteJournal
{
    private readonly ConcurrentQueue<WriteRequest> _queue = new();
    private readonly ConcurrentDictionary<string, Task> _writing = new(StringComparer.Ordinal);
    private readonly int _batchSize;
    private readonly int _parallelism;
    private readonly object _schemaLock = new();
    private Task? _schema;
    private int _activeWriters;
    private readonly TimeSpan _queuedTimeout;
    private readonly ConcurrentQueue<RecoveryRequest> _replays = new();
    private readonly int _readers;
    private readonly int _recoveryBatchSize;
    private readonly Akka.Pattern.CircuitBreaker _readBreaker;
    private int _activeReaders;
    private readonly EventStream _eventStream;
    private readonly string _systemName;
    private readonly JournalCommits _commits;

    /// <summary>Reads <c>batch-size</c> (default 2000) and takes the number of concurrent writers.</summary>
    protected BatchingJournal(Config config, int parallelism)
    {
        Serialization = Context.System.Serialization;
        _batchSize = Math.Max(1, config.GetInt("batch-size", 2000));
        _parallelism = Math.Max(1, parallelism);
        _queuedTimeout = config.GetTimeSpan("circuit-breaker.call-timeout", TimeSpan.FromSeconds(10));
        if (_queuedTimeout <= TimeSpan.Zero) _queuedTimeout = TimeSpan.FromSeconds(10);
        _eventStream = Context.System.EventStream;
        _systemName = Context.System.Name;
        _commits = JournalCommits.For(Context.System);
        _readers = Math.Max(1, config.GetInt("recovery-parallelism", 2));
        _recoveryBatchSize = Math.Max(1, config.GetInt("recovery-batch-size", 500));
        // Recoveries have a breaker of their own (the write path's is private to AsyncWriteJournal), with the same
        // settings: while the database is down, recoveries are refused at once (OpenCircuitException) instead of each
        // waiting for its connection attempt, and the aggregate fails its commands fast.
        _readBreaker = new Akka.Pattern.CircuitBreaker(Context.System.Scheduler,
            config.GetInt("circuit-breaker.max-failures", 10), _queuedTimeout,
            config.GetTimeSpan("circuit-breaker.reset-timeout", TimeSpan.FromSeconds(30)));
    }

    /// <summary>The actor system's serialization.</summary>
    protected Akka.Serialization.Serialization Serialization { get; }

    /// <summary>The journal's logger.</summary>
    protected ILoggingAdapter Log { get; } = Context.GetLogger();

    /// <summary>Cancelled when the journal stops.</summary>
    protected CancellationTokenSource Stopping { get; } = new();

    /// <summary>Creates the tables if they do not exist.</summary>
    protected abstract Task CreateSchemaAsync();

    /// <summary>Stores every row of <paramref name="batch"/> (journal rows and tag rows) in one transaction.</summary>
    protected abstract Task InsertAsync(IReadOnlyList<WriteRequest> batch);

    /// <summary>Releases the database resources.</summary>
    protected abstract void DisposeStore();

    /// <summary>True when <paramref name="error"/> is a constraint violation (a sequence-number clash): only then is a
    /// failed batch retried write by write, so that just the offending write fails.</summary>
    protected abstract bool IsConflict(Exception error);

    /// <summary>True when a failed batch is retried write by write: <paramref name="error"/> is not transient (a
    /// constraint violation, a value the database rejects), so it may belong to one write only. Transient failures
    /// (connection lost, too many clients) fail the whole batch: each write would fail the same way.</summary>
    protected virtual bool IsPerWriteFailure(Exception error) => IsConflict(error);

    /// <summary>True for a driver whose "async" calls complete synchronously (SQLite): writes are then moved off the
    /// journal actor's thread, so that requests can queue up behind a commit and be group-committed.</summary>
    protected virtual bool CompletesSynchronously => false;

    /// <summary>Waits until no write of <paramref name="persistenceId"/> is in flight (whatever its outcome), so that a
    /// recovering actor never reads a highest sequence number that an older incarnation's write is about to change.</summary>
    protected async Task WaitForWritesAsync(string persistenceId)
    {
        if (!_writing.TryGetValue(persistenceId, out var pending)) return;
        try { await pending; } catch { /* the outcome belongs to the writer */ }
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        base.PreStart();
        _ = EnsureSchema();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        Stopping.Cancel();
        while (_queue.TryDequeue(out var orphan)) orphan.Done.TrySetException(new InvalidOperationException("The journal stopped."));
        FailQueuedRecoveries();
        DisposeStore();
        base.PostStop();
    }

    /// <summary>The schema task; a failed attempt (database not reachable yet) is retried by the next caller.</summary>
    protected Task EnsureSchema()
    {
        lock (_schemaLock)
        {
            if (_schema is null || _schema.IsFaulted || _schema.IsCanceled) _schema = CreateSchemaAsync();
            return _schema;
        }
    }

    /// <summary>Deserializes a stored payload with the serializer and manifest it was stored with.</summary>
    protected object Deserialize(byte[] payload, int serializerId, string? manifest) =>
        Serialization.Deserialize(payload, serializerId, manifest ?? "");

    /// <summary>Akka.Persistence.Sql's read journal asks its write journal (with its internal <c>IsInitialized</c>
    /// message) whether the tables exist before its first query; answer the same way once the schema is in place.</summary>
    protected override bool ReceivePluginInternal(object message)
    {
        if (message.GetType() != SqlPluginProtocol.IsInitialized) return false;
        var sender = Sender;
        EnsureSchema().ContinueWith(t => sender.Tell(t.IsCompletedSuccessfully
            ? SqlPluginProtocol.Initialized
            : new Status.Failure(t.Exception?.GetBaseException() ?? new TaskCanceledException("Schema creation was cancelled."))),
            TaskScheduler.Default);
        return true;
    }

    private static class SqlPluginProtocol
    {
        private static readonly System.Reflection.Assembly Plugin = typeof(Akka.Persistence.Sql.Query.SqlReadJournal).Assembly;
        public static readonly Type? IsInitialized = Plugin.GetType("Akka.Persistence.Sql.Utility.IsInitialized");
        public static readonly object? Initialized = Plugin.GetType("Akka.Persistence.Sql.Utility.Initialized")
            ?.GetField("Instance", System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)?.GetValue(null);
    }

    /// <inheritdoc />
    protected override bool AroundReceive(Receive receive, object message)
    {
        switch (message)
        {
            case WriteMessages write:
                HandleWriteMessages(write);
                return true;
            case ReplayMessages replay:
                EnqueueRecovery(new RecoveryRequest(replay.PersistenceId, replay.FromSequenceNr, replay.ToSequenceNr,
                    replay.Max, replay.PersistentActor, false, replay));
                return true;
            case ReplayFromSnapshot combined:
                EnqueueRecovery(new RecoveryRequest(combined.PersistenceId, 1, long.MaxValue, long.MaxValue,
                    combined.PersistentActor, true, combined));
                return true;
            default:
                return base.AroundReceive(receive, message);
        }
    }

    /// <summary>Reads, for every request of <paramref name="requests"/> and in one consistent read of the database
    /// (one statement or one read transaction): for a request <see cref="RecoveryRequest.WithSnapshot"/>, its latest
    /// snapshot if it has one; its highest stored sequence number (deleted rows included); and its events from
    /// <c>FromSequenceNr</c> (or after the snapshot, if that is later) to the lesser of <c>ToSequenceNr</c> and that
    /// highest number, at most <c>Max</c> of them, not deleted, in order. Rows are reported in request order:
    /// <see cref="RecoveryRows.Snapshot"/> (if any), then <see cref="RecoveryRows.Highest"/> once for a request, then
    /// <see cref="RecoveryRows.Event"/> for each of its events.</summary>
    protected abstract Task ReadRecoveriesAsync(IReadOnlyList<RecoveryRequest> requests, RecoveryRows rows,
        CancellationToken cancellationToken);

    /// <summary>One queued recovery: a <see cref="ReplayMessages"/>, or a <see cref="ReplayFromSnapshot"/>
    /// (<paramref name="WithSnapshot"/>: its latest snapshot is read first, and its events from the one after it).</summary>
    protected sealed record RecoveryRequest(string PersistenceId, long FromSequenceNr, long ToSequenceNr, long Max,
        IActorRef PersistentActor, bool WithSnapshot, object Message);

    // Recovery, coalesced: an aggregate's load is a ReplayMessages (its highest sequence number, then its events), or a
    // ReplayFromSnapshot (its latest snapshot as well, in the same read). Each is queued, and up to
    // recovery-parallelism readers take everything queued (up to recovery-batch-size requests) and read it with one
    // query, so a burst of cold loads (a node start, a rebalance, traffic to many ids) costs a few round trips instead
    // of two or three per aggregate, and none of it runs on the journal actor's thread (SQLite's "async" calls complete
    // synchronously). Akka's replay filter is not spawned: it repairs interleaved writes of two writers, which the
    // unique (persistence_id, sequence_nr) key of these tables makes impossible.
    private void EnqueueRecovery(RecoveryRequest replay)
    {
        // Never read a highest sequence number that an older incarnation's write in flight is about to change.
        if (_writing.TryGetValue(replay.PersistenceId, out var pending))
        {
            pending.ContinueWith(_ => Enqueue(replay), TaskScheduler.Default);
            return;
        }
        Enqueue(replay);
    }

    private void Enqueue(RecoveryRequest replay)
    {
        _replays.Enqueue(replay);
        TryStartReader();
    }

    // Once the journal stops, nothing reads the queue any more: whatever is queued (also by a write's continuation, after
    // PostStop drained the queue) is answered with a failure here, and no reader is started. Enqueue-then-check here
    // and cancel-then-drain in PostStop leave no request unanswered between them.
    private void FailQueuedRecoveries()
    {
        while (_replays.TryDequeue(out var replay))
            replay.PersistentActor.Tell(replay.WithSnapshot
                ? new LoadSnapshotFailed(new InvalidOperationException("The journal stopped."))
                : new ReplayMessagesFailure(new InvalidOperationException("The journal stopped.")));
    }

    private void TryStartReader()
    {
        if (Stopping.IsCancellationRequested)
        {
            FailQueuedRecoveries();
            return;
        }
        while (!_replays.IsEmpty)
        {
            var active = Volatile.Read(ref _activeReaders);
            if (active >= _readers) return;
            if (Interlocked.CompareExchange(ref _activeReaders, active + 1, active) != active) continue;
            _ = Task.Run(ReadRecoveriesLoopAsync);
            return;
        }
    }

    private async Task ReadRecoveriesLoopAsync()
    {
        var batch = new List<RecoveryRequest>();
        try
        {
            while (!Stopping.IsCancellationRequested)
            {
                batch.Clear();
                while (batch.Count < _recoveryBatchSize && _replays.TryDequeue(out var r)) batch.Add(r);
                if (batch.Count == 0) break;
                await RecoverBatchAsync(batch);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _activeReaders);
            // A request enqueued after the queue looked empty, and before this reader left, must not be stranded.
            TryStartReader();
        }
    }

    private async Task RecoverBatchAsync(List<RecoveryRequest> batch)
    {
        var rows = new RecoveryRows(this, batch);
        StorageMetrics.RecoveryBatch(_systemName, "journal", batch.Count);
        try
        {
            await _readBreaker.WithCircuitBreaker(async _ =>
            {
                await EnsureSchema();
                await ReadRecoveriesAsync(batch, rows, Stopping.Token);
            });
            rows.CompleteAll();
        }
        catch (Exception e)
        {
            var cause = TryUnwrapException(e);
            if (cause is not Akka.Pattern.OpenCircuitException)
                Log.Warning("Recovery of {0} aggregate(s) failed: {1}", batch.Count, cause.Message);
            rows.FailRemaining(cause);
        }
    }

    /// <summary>The receiving end of <see cref="ReadRecoveriesAsync"/>: it sends each request's snapshot and events to
    /// its persistent actor as they are read, and its outcome once the request's rows are over.</summary>
    protected sealed class RecoveryRows
    {
        private readonly BatchingJournal _journal;
        private readonly IReadOnlyList<RecoveryRequest> _requests;
        private int _current = -1;
        private bool _snapshotAnswered; // of the current request (a request without snapshot counts as answered)
        private bool _highestKnown;     // of the current request
        private bool _abandoned;        // the current request's snapshot failed: that answer was its last
        private long _highest;
        private long _from;
        private long _to;
        private int _completed; // requests [0, _completed) have been answered

        internal RecoveryRows(BatchingJournal journal, IReadOnlyList<RecoveryRequest> requests)
        {
            _journal = journal;
            _requests = requests;
        }

        /// <summary>Request <paramref name="index"/>'s latest snapshot (only for a request
        /// <see cref="RecoveryRequest.WithSnapshot"/>, and before its <see cref="Highest"/>). A snapshot that cannot be
        /// read fails its own request only.</summary>
        public void Snapshot(int index, long sequenceNr, long createdAtTicks, byte[] payload, int? serializerId, string? manifest)
        {
            if (!_requests[Begin(index)].WithSnapshot)
                throw new InvalidOperationException($"Recovery rows out of order: a snapshot for request {index}, which asked for none.");
            var request = _requests[index];
            SelectedSnapshot selected;
            try
            {
                selected = new SelectedSnapshot(new SnapshotMetadata(request.PersistenceId, sequenceNr, new DateTime(createdAtTicks)),
                    SnapshotPayload.Deserialize(_journal.Serialization, payload, serializerId, manifest));
            }
            catch (Exception e)
            {
                _snapshotAnswered = true;
                _abandoned = true;
                request.PersistentActor.Tell(new LoadSnapshotFailed(e));
                return;
            }
            _from = Math.Max(request.FromSequenceNr, sequenceNr + 1);
            request.PersistentActor.Tell(new LoadSnapshotResult(selected, request.ToSequenceNr));
            _snapshotAnswered = true;
        }

        /// <summary>Request <paramref name="index"/>'s highest sequence number (0 for a stream never written).</summary>
        public void Highest(int index, long highest)
        {
            if (index != _current) Begin(index);
            else if (_highestKnown)
                throw new InvalidOperationException($"Recovery rows out of order: request {index}'s highest sequence number twice.");
            var request = _requests[index];
            _highestKnown = true;
            _highest = highest;
            _to = Math.Min(request.ToSequenceNr, highest);
            if (_snapshotAnswered) return;
            _snapshotAnswered = true;
            request.PersistentActor.Tell(new LoadSnapshotResult(null, request.ToSequenceNr)); // it has none
        }

        /// <summary>One stored event of request <paramref name="index"/>, in sequence order (deleted rows excluded). It
        /// is deserialized only if its request wants it (in range, and not already failed); one that cannot be read
        /// (an unknown type, a payload its serializer rejects, an event adapter that throws) fails its own request with
        /// <see cref="ReplayMessagesFailure"/>, and the other requests of the batch go on.</summary>
        public void Event(int index, long sequenceNr, long timestamp, byte[] payload, int serializerId, string? manifest)
        {
            if (index != _current || !_highestKnown)
                throw new InvalidOperationException($"Recovery event of request {index} before its highest sequence number.");
            if (_abandoned || sequenceNr < _from || sequenceNr > _to) return;
            var request = _requests[index];
            IEnumerable<IPersistentRepresentation> adapted;
            try
            {
                var persistent = new Persistent(_journal.Deserialize(payload, serializerId, manifest), sequenceNr,
                    request.PersistenceId, "", false, ActorRefs.NoSender, null, timestamp);
                adapted = _journal.AdaptFromJournal(persistent).ToList();
            }
            catch (Exception e)
            {
                _abandoned = true;
                request.PersistentActor.Tell(new ReplayMessagesFailure(new SerializationException(
                    $"Event {sequenceNr} of '{request.PersistenceId}' cannot be read: {e.Message}", e)));
                return;
            }
            foreach (var p in adapted) request.PersistentActor.Tell(new ReplayedMessage(p), ActorRefs.NoSender);
        }

        // Starts request `index`'s rows, after answering every request before it.
        private int Begin(int index)
        {
            if (index <= _current || index >= _requests.Count)
                throw new InvalidOperationException($"Recovery rows out of order: request {index} after {_current}.");
            CompleteUpTo(index);
            _current = index;
            _snapshotAnswered = !_requests[index].WithSnapshot;
            _highestKnown = false;
            _abandoned = false;
            _from = _requests[index].FromSequenceNr;
            return index;
        }

        // Answers every request before `index`: the current one with its highest number; one that reported no rows
        // at all (or no highest number) is a defect of the reader, answered as a failure rather than as an empty stream.
        private void CompleteUpTo(int index)
        {
            for (; _completed < index; _completed++)
            {
                var request = _requests[_completed];
                if (_completed == _current && _abandoned) continue;
                if (_completed == _current && _highestKnown)
                {
                    request.PersistentActor.Tell(new RecoverySuccess(_highest));
                    if (_journal.CanPublish) _journal._eventStream.Publish(request.Message);
                }
                else Fail(_completed, new InvalidOperationException(
                    $"The journal read no highest sequence number for '{request.PersistenceId}'."));
            }
        }

        internal void CompleteAll() => CompleteUpTo(_requests.Count);

        internal void FailRemaining(Exception cause)
        {
            for (; _completed < _requests.Count; _completed++)
                if (!(_completed == _current && _abandoned)) Fail(_completed, cause);
        }

        // The failure the request's actor listens for at this point: before its snapshot was answered, the snapshot's.
        private void Fail(int index, Exception cause)
        {
            var request = _requests[index];
            var snapshotAnswered = index == _current ? _snapshotAnswered : !request.WithSnapshot;
            request.PersistentActor.Tell(snapshotAnswered ? new ReplayMessagesFailure(cause) : new LoadSnapshotFailed(cause));
        }
    }

    // The journal protocol as AsyncWriteJournal speaks it (WriteMessagesSuccessful/Failed, then one reply per message,
    // to the sender of each message), but replies go out as soon as this request's outcome is known: a persistent
    // actor has one WriteMessages in flight at a time, so its replies stay in order without a global resequencer.
    private void HandleWriteMessages(WriteMessages message)
    {
        var self = Self;
        var atomicWrites = message.Messages.Count(m => m is AtomicWrite);
        Task<IImmutableList<Exception?>> written;
        try
        {
            var prepared = PreparePersistentBatch(message.Messages);
            var timeout = new CancellationTokenSource(_queuedTimeout);
            written = WriteMessagesAsync(prepared, timeout.Token);
            written.ContinueWith(static (_, t) => ((CancellationTokenSource)t!).Dispose(), timeout, TaskScheduler.Default);
        }
        catch (Exception e)
        {
            // Like AsyncWriteJournal: an event adapter that throws rejects the messages.
            Reply(message, self, Enumerable.Repeat<Exception?>(e, atomicWrites).ToImmutableList(), atomicWrites);
            return;
        }
        written.ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully) Reply(message, self, t.Result, atomicWrites);
            else Fail(message, self, t.Exception is { } e ? TryUnwrapException(e) : new OperationCanceledException(
                $"The write was not started within the journal's circuit-breaker call-timeout ({_queuedTimeout})."), atomicWrites);
        }, TaskScheduler.Default);
    }

    private static void Reply(WriteMessages message, IActorRef journal, IImmutableList<Exception?>? results, int atomicWrites)
    {
        if (results is not null && results.Count != atomicWrites)
        {
            Fail(message, journal, new InvalidOperationException($"Expected {atomicWrites} write results, got {results.Count}."), atomicWrites);
            return;
        }
        message.PersistentActor.Tell(WriteMessagesSuccessful.Instance, journal);
        var i = 0;
        foreach (var envelope in message.Messages)
        {
            if (envelope is AtomicWrite write)
            {
                var rejection = results?[i++];
                foreach (var p in (IEnumerable<IPersistentRepresentation>)write.Payload)
                    message.PersistentActor.Tell(rejection is null
                        ? new WriteMessageSuccess(p, message.ActorInstanceId)
                        : new WriteMessageRejected(p, rejection, message.ActorInstanceId), p.Sender);
            }
            else message.PersistentActor.Tell(new LoopMessageSuccess(envelope.Payload, message.ActorInstanceId), envelope.Sender);
        }
    }

    private static void Fail(WriteMessages message, IActorRef journal, Exception cause, int atomicWrites)
    {
        message.PersistentActor.Tell(new WriteMessagesFailed(cause, atomicWrites), journal);
        foreach (var envelope in message.Messages)
        {
            if (envelope is AtomicWrite write)
                foreach (var p in (IEnumerable<IPersistentRepresentation>)write.Payload)
                    message.PersistentActor.Tell(new WriteMessageFailure(p, cause, message.ActorInstanceId), p.Sender);
            else message.PersistentActor.Tell(new LoopMessageSuccess(envelope.Payload, message.ActorInstanceId), envelope.Sender);
        }
    }

    /// <inheritdoc />
    protected override async Task<IImmutableList<Exception?>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages,
        CancellationToken cancellationToken)
    {
        // Serialize here, per atomic write, so that a payload that cannot be serialized rejects only its own write.
        var writes = messages.ToArray();
        var request = new WriteRequest(writes.Length);
        for (var i = 0; i < writes.Length; i++)
        {
            try { request.Add(Serialize(writes[i])); }
            catch (Exception e) { request.Reject(i, e); }
        }
        if (request.Rows.Count == 0) return request.Results;
        var done = request.Done.Task;
        var persistenceId = request.Rows[0].PersistenceId; // an actor's WriteMessages holds its own stream only
        _writing[persistenceId] = done;
        _queue.Enqueue(request);
        // A request given up on (call-timeout) before a writer took it is never written; once claimed it is not
        // cancellable: its outcome is whatever the database decides, and the caller waits for it.
        await using var registration = cancellationToken.Register(static r => ((WriteRequest)r!).TryCancel(), request);
        // Group commit without a hand-off: if fewer than `parallelism` writers are busy, this call becomes one and
        // stores everything queued so far (its own request included); otherwise a busy writer takes it next.
        if (TryBecomeWriter()) _ = DrainAsync();
        try
        {
            await done;
            return request.Results;
        }
        finally
        {
            _writing.TryRemove(new KeyValuePair<string, Task>(persistenceId, done));
        }
    }

    private List<Row> Serialize(AtomicWrite write)
    {
        var rows = new List<Row>();
        foreach (var p in (IImmutableList<IPersistentRepresentation>)write.Payload)
        {
            var payload = p.Payload;
            IImmutableSet<string> tags = ImmutableHashSet<string>.Empty;
            if (payload is Tagged tagged)
            {
                payload = tagged.Payload;
                tags = tagged.Tags;
            }
            var serializer = Serialization.FindSerializerFor(payload);
            var bytes = serializer.ToBinary(payload);
            var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, payload);
            rows.Add(new Row(p.PersistenceId, p.SequenceNr, bytes, manifest, serializer.Identifier, tags));
        }
        return rows;
    }

    private bool TryBecomeWriter()
    {
        while (true)
        {
            var active = Volatile.Read(ref _activeWriters);
            if (active >= _parallelism) return false;
            if (Interlocked.CompareExchange(ref _activeWriters, active + 1, active) == active) return true;
        }
    }

    private async Task DrainAsync()
    {
        if (CompletesSynchronously) await Task.Yield();
        var batch = new List<WriteRequest>();
        while (true)
        {
            batch.Clear();
            var events = 0;
            while (events < _batchSize && _queue.TryDequeue(out var request))
            {
                if (!request.TryStart()) continue; // cancelled while queued
                batch.Add(request);
                events += request.Rows.Count;
            }
            if (batch.Count == 0)
            {
                Interlocked.Decrement(ref _activeWriters);
                // A request enqueued after the queue looked empty, and before this writer left, must not be stranded.
                if (_queue.IsEmpty || !TryBecomeWriter()) return;
                continue;
            }
            await StoreAsync(batch);
        }
    }

    private async Task StoreAsync(List<WriteRequest> batch)
    {
        try
        {
            await EnsureSchema();
            await InsertAsync(batch);
            _commits.Committed(); // this node's projections read the new rows now, not at their next poll
            foreach (var r in batch) r.Done.TrySetResult();
        }
        catch (Exception e) when (batch.Count > 1 && IsPerWriteFailure(e))
        {
            // One bad write rolled back the whole batch: retry write by write so only the offending one fails. A caller
            // that gives up meanwhile is not written (its request goes back to a cancellable state until retried).
            Log.Warning("A batch of {0} writes failed ({1}); retrying them one by one", batch.Count, e.Message);
            foreach (var r in batch) r.AwaitRetry();
            foreach (var r in batch)
            {
                if (!r.TryStartRetry()) continue;
                try
                {
                    await InsertAsync([r]);
                    _commits.Committed();
                    r.Done.TrySetResult();
                }
                catch (Exception single)
                {
                    r.Done.TrySetException(single);
                }
            }
        }
        catch (Exception e)
        {
            foreach (var r in batch) r.Done.TrySetException(e);
        }
    }

    /// <summary>One journal row to store, with its tags.</summary>
    protected sealed record Row(string PersistenceId, long SequenceNr, byte[] Payload, string? Manifest,
        int SerializerId, IImmutableSet<string> Tags);

    /// <summary>The rows of one <c>WriteMessages</c> call and its completion.</summary>
    protected sealed class WriteRequest(int writes)
    {
        private const int Queued = 0, Started = 1, Cancelled = 2, Retrying = 3;
        private int _state;
        private Exception?[]? _rejections;
        /// <summary>Claims the request for writing; false if it was cancelled first.</summary>
        public bool TryStart() => Interlocked.CompareExchange(ref _state, Started, Queued) == Queued;
        /// <summary>Cancels the request unless a writer has claimed it.</summary>
        public void TryCancel()
        {
            if (Interlocked.CompareExchange(ref _state, Cancelled, Queued) == Queued
                || Interlocked.CompareExchange(ref _state, Cancelled, Retrying) == Retrying)
                Done.TrySetCanceled();
        }

        /// <summary>After a failed batch: cancellable again until <see cref="TryStartRetry"/>.</summary>
        public void AwaitRetry() => Interlocked.CompareExchange(ref _state, Retrying, Started);

        /// <summary>Claims the request for its retry; false if it was cancelled meanwhile.</summary>
        public bool TryStartRetry() => Interlocked.CompareExchange(ref _state, Started, Retrying) == Retrying;
        /// <summary>The rows to store.</summary>
        public List<Row> Rows { get; } = [];
        /// <summary>Completed when the rows are committed (or failed).</summary>
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        /// <summary>Per atomic write: null, or why it was rejected.</summary>
        public IImmutableList<Exception?> Results => _rejections is null ? null! : _rejections.ToImmutableList();
        /// <summary>Adds the rows of one atomic write.</summary>
        public void Add(List<Row> rows) => Rows.AddRange(rows);
        /// <summary>Rejects atomic write <paramref name="index"/>.</summary>
        public void Reject(int index, Exception e) => (_rejections ??= new Exception?[writes])[index] = e;
    }
}
