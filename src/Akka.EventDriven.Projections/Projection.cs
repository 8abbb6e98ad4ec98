using System.Data.Common;
using Akka.Actor;
using Akka.Event;
using Akka.EventDriven.Storage;

namespace Akka.EventDriven.Projections;

/// <summary>
/// A projection of the event journal into a read model, in one of three delivery modes (factories named by
/// guarantee, as in Akka Projections): <see cref="ExactlyOnce"/> (read-model writes and offset in one transaction),
/// <see cref="AtLeastOnce"/> (offset after the handler, in batches) and <see cref="Grouped"/> (batches bounded by size
/// and time). Events are read in journal order by a gap-safe reader that never skips an event committed late by a
/// concurrent writer. A failing handler is retried with exponential backoff, one event at a time so a poison event
/// is isolated, and then handled by the <see cref="RecoveryStrategy"/>. Operators can pause, resume and rebuild,
/// and read <see cref="GetStatusAsync"/>. Run one instance per <see cref="ProjectionId"/> in the cluster.
/// </summary>
public sealed class Projection : IAsyncDisposable
{
    private enum Mode { ExactlyOnce, AtLeastOnce, Grouped }

    /// <summary>The meter name of the projection metrics (<c>akka.event_driven.projection.skipped_holes</c>,
    /// <c>.lag.events</c>, <c>.lag.seconds</c>).</summary>
    public const string MeterName = "Akka.EventDriven.Projections";

    internal static readonly System.Diagnostics.Metrics.Meter Meter = new(MeterName);
    private static readonly System.Diagnostics.Metrics.Counter<long> SkippedHolesCounter = Meter.CreateCounter<long>(
        "akka.event_driven.projection.skipped_holes", unit: "{hole}",
        description: "Holes in the journal ordering a projection gave up on (rolled-back writes, deleted events).");

    private readonly ProjectionId _id;
    private readonly Mode _mode;
    private readonly ExactlyOnceHandler? _exactlyOnce;
    private readonly AtLeastOnceHandler? _atLeastOnce;
    private readonly GroupedHandler? _grouped;
    private readonly ProjectionSettings _settings;
    private readonly JournalReader _reader;
    private readonly JournalCommits _commits;
    private readonly ProjectionOffsetStore _offsets;
    private readonly Akka.Serialization.Serialization _serialization;
    private readonly ILoggingAdapter _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Task _loop;
    private readonly Task _schema;
    private long _offset = -1;
    private long _rebuildTarget;    // the ordering a rebuild in progress must reach; 0 = not rebuilding
    private long _deadLetters;
    private volatile bool _paused;
    private volatile ProjectionState _state = ProjectionState.Running;
    private volatile string? _lastError;
    private int _failures;          // consecutive failures of the handler (or of an unreadable event)
    private int _isolate;           // steps left to take one event at a time, so that a failing event is found
    private bool _failedAlone;      // the last failure happened with one event in the step
    private int _disposed;
    private bool _blockedByHole; // the last step stopped at a hole with newer rows behind it
    // Exactly-once on PostgreSQL: the batch after the one being handled, read on a connection of its own while the
    // handler and the commit run (from the offset that batch moves to); used by the next step only if it starts there.
    private (long From, int Limit, Task<Batch> Read)? _prefetch;
    private readonly ProjectionRegistry _registry;

    private Projection(ActorSystem system, ProjectionId id, Mode mode, ExactlyOnceHandler? exactlyOnce,
        AtLeastOnceHandler? atLeastOnce, GroupedHandler? grouped, ProjectionSettings? settings)
    {
        if (string.IsNullOrWhiteSpace(id.Name) || string.IsNullOrWhiteSpace(id.Key))
            throw new ArgumentException("A projection needs a name and a key.", nameof(id));
        settings ??= new ProjectionSettings();
        if (settings.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(settings), "BatchSize must be at least 1.");
        _id = id;
        _mode = mode;
        _exactlyOnce = exactlyOnce;
        _atLeastOnce = atLeastOnce;
        _grouped = grouped;
        _settings = settings;
        var store = StoreSettings.FromConfig(system.Settings.Config);
        _reader = new JournalReader(store, new JournalReadOptions(settings.Tag, settings.IncludeTags, settings.GapTimeout));
        _offsets = new ProjectionOffsetStore(store);
        _commits = JournalCommits.For(system);
        _serialization = system.Serialization;
        _log = Logging.GetLogger(system, $"projection-{id}");
        _reader.HoleSkipped = (first, last) =>
        {
            _log.Warning("Projection {0} gave up on journal orderings {1}..{2}: no transaction that could still write them " +
                         "is in flight (a rolled-back write or a deleted event){3}", _id, first, last,
                _reader.Provider == StoreProvider.Sqlite ? $", or the hole outlived the gap timeout ({_settings.Gap})" : "");
            SkippedHolesCounter.Add(1, new KeyValuePair<string, object?>("projection", _id.ToString()));
        };
        _schema = EnsureSchemaAsync(_stop.Token);
        _registry = ProjectionRegistry.Get(system);
        _registry.Add(this);
        _loop = Task.Run(RunAsync);
        // A projection lives no longer than its actor system: a step in progress is cancelled (rolled back).
        system.RegisterOnTermination(() => { try { _stop.Cancel(); } catch (ObjectDisposedException) { } });
    }

    /// <summary>Starts an exactly-once projection: <paramref name="handler"/> writes through the transaction it is given.</summary>
    public static Projection ExactlyOnce(ActorSystem system, ProjectionId id, ExactlyOnceHandler handler, ProjectionSettings? settings = null) =>
        new(system, id, Mode.ExactlyOnce, handler ?? throw new ArgumentNullException(nameof(handler)), null, null, settings);

    /// <summary>Starts an at-least-once projection: the offset is stored after every <c>BatchSize</c> events.</summary>
    public static Projection AtLeastOnce(ActorSystem system, ProjectionId id, AtLeastOnceHandler handler, ProjectionSettings? settings = null) =>
        new(system, id, Mode.AtLeastOnce, null, handler ?? throw new ArgumentNullException(nameof(handler)), null, settings);

    /// <summary>Starts a grouped projection: groups of at most <c>BatchSize</c> events, or what arrived within
    /// <c>GroupWithin</c> of the group's first event.</summary>
    public static Projection Grouped(ActorSystem system, ProjectionId id, GroupedHandler handler, ProjectionSettings? settings = null) =>
        new(system, id, Mode.Grouped, null, null, handler ?? throw new ArgumentNullException(nameof(handler)), settings);

    /// <summary>The projection's id.</summary>
    public ProjectionId Id => _id;

    /// <summary>The offset (journal ordering) this instance last committed or read from the store, or -1 before the
    /// first one is known.</summary>
    public long Offset => Interlocked.Read(ref _offset);

    /// <summary>Stops taking new events until <see cref="Resume"/>; completes once a step in progress has finished.</summary>
    public async Task PauseAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        _paused = true;
        _gate.Release();
    }

    /// <summary>Continues after <see cref="PauseAsync"/>.</summary>
    public void Resume() => _paused = false;

    /// <summary>Clears the read model through <paramref name="clearReadModel"/> and resets the offset to 0 in one
    /// transaction, then continues from the beginning of the journal. Until it is past the event that was the
    /// journal's newest when the rebuild started, <see cref="GetStatusAsync"/> reports
    /// <see cref="ProjectionState.Rebuilding"/> with that event's ordering as <see cref="ProjectionStatus.RebuildTarget"/>.</summary>
    public async Task RebuildAsync(RebuildHook clearReadModel, CancellationToken cancellationToken = default)
    {
        await _schema.WaitAsync(cancellationToken);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var target = await _reader.MaxOrderingAsync(cancellationToken);
            await using var connection = await _reader.OpenAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            // The offset row first: a step of another instance that has moved it holds its lock until it commits, so the
            // clear below sees that step's writes (and removes them) instead of leaving them to be applied again.
            await _offsets.LockOffsetAsync(connection, transaction, _id.Name, _id.Key, cancellationToken);
            await clearReadModel(transaction, cancellationToken);
            await StoreOffsetAsync(connection, transaction, 0, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            Interlocked.Exchange(ref _offset, 0);
            Interlocked.Exchange(ref _rebuildTarget, target);
            (_failures, _isolate, _failedAlone, _lastError) = (0, 0, false, null);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Rebuilds with the settings' <see cref="ProjectionSettings.ClearReadModel"/> (what an operator's
    /// rebuild uses). Throws <see cref="InvalidOperationException"/> when the projection has none.</summary>
    public Task RebuildAsync(CancellationToken cancellationToken = default) =>
        RebuildAsync(_settings.ClearReadModel ?? throw new InvalidOperationException(
            $"Projection {_id} has no ClearReadModel in its settings, so it cannot be rebuilt without code."), cancellationToken);

    /// <summary>True when <see cref="RebuildAsync(CancellationToken)"/> can run (a ClearReadModel hook is set).</summary>
    public bool CanRebuild => _settings.ClearReadModel is not null;

    /// <summary>State, offset and lag (events and seconds behind the journal).</summary>
    public async Task<ProjectionStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        await _schema.WaitAsync(cancellationToken);
        var offset = Math.Max(0, Offset);
        var (max, behind, oldest) = await _reader.LagAsync(offset, cancellationToken);
        var seconds = oldest is { } o ? Math.Max(0, (DateTime.UtcNow - o).TotalSeconds) : 0;
        // The offset only grows between rebuilds, so once it reaches the target the rebuild is over for good.
        var target = Interlocked.Read(ref _rebuildTarget);
        long? rebuildTarget = target > offset ? target : null;
        var state = _state != ProjectionState.Running ? _state
            : _paused ? ProjectionState.Paused
            : rebuildTarget is not null ? ProjectionState.Rebuilding
            : ProjectionState.Running;
        return new ProjectionStatus(_id, state, offset, max, behind, seconds, Interlocked.Read(ref _deadLetters), _lastError,
            _reader.SkippedHoles, _reader.LastSkippedHole, _state == ProjectionState.Running ? rebuildTarget : null);
    }

    /// <summary>Completes once the projection has committed every event written before the call.</summary>
    public async Task WaitUntilCaughtUpAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        await _schema.WaitAsync(timeout, cancellationToken);
        var target = await _reader.MaxOrderingAsync(cancellationToken);
        var deadline = DateTime.UtcNow + timeout;
        while (Offset < target)
        {
            if (_state is ProjectionState.Failed or ProjectionState.Stopped)
                throw new InvalidOperationException($"Projection {_id} is {_state}: {_lastError}");
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Projection {_id} is at offset {Offset}, not caught up with {target} after {timeout}.");
            await Task.Delay(20, cancellationToken);
        }
    }

    private async Task RunAsync()
    {
        // The loop belongs to no caller's trace (Task.Run carried the creator's activity): each handled event continues
        // the trace stored with it instead.
        System.Diagnostics.Activity.Current = null;
        var ct = _stop.Token;
        var transient = 0;
        try
        {
            await _schema;
            while (!ct.IsCancellationRequested)
            {
                if (_paused)
                {
                    await Task.Delay(_settings.Poll, ct);
                    continue;
                }
                var outcome = Step.Idle;
                TimeSpan? retryIn = null;
                // Taken before the step looks at the journal: a commit on this node while it reads wakes the wait below.
                var committed = _commits.Next;
                await _gate.WaitAsync(ct);
                try
                {
                    var limit = _isolate > 0 ? 1 : _settings.BatchSize;
                    outcome = await StepAsync(limit, ct);
                    if (outcome == Step.Progressed && _isolate > 0) _isolate--;
                    if (outcome == Step.Progressed) (_failures, _failedAlone, _lastError) = (0, false, null);
                    transient = 0;
                }
                catch (HandlerFailedException e)
                {
                    _failures++;
                    _failedAlone = e.Events == 1;
                    _isolate = _settings.BatchSize;
                    _lastError = $"{e.InnerException!.GetType().Name}: {e.InnerException.Message}";
                    var strategy = _settings.Recovery ?? RecoveryStrategy.RetryForever;
                    if (_failures > strategy.Retries && strategy.Kind == RecoveryKind.Fail)
                    {
                        _log.Error(e.InnerException, "Projection {0} failed at offset {1}; stopping it (recovery strategy)", _id, Offset);
                        _state = ProjectionState.Failed;
                        return;
                    }
                    retryIn = Backoff(_failures);
                    _log.Warning(e.InnerException, "Projection {0}: handler failed at offset {1} (attempt {2}); retrying in {3}", _id, Offset, _failures, retryIn);
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    // The database, not the handler: retry with backoff; the recovery strategy is not involved.
                    transient++;
                    _lastError = $"{e.GetType().Name}: {e.Message}";
                    retryIn = Backoff(transient);
                    _log.Warning(e, "Projection {0}: step failed at offset {1} ({2}); retrying in {3}", _id, Offset, e.Message, retryIn);
                }
                finally
                {
                    _gate.Release();
                }
                if (retryIn is { } wait) await Task.Delay(wait, ct);
                // Nothing new: look again after a poll, or as soon as this node's journal commits (behind a hole that a
                // concurrent writer is about to fill, soon in any case: its writer may be on another node).
                else if (outcome == Step.Idle)
                {
                    await committed.WaitAsync(_blockedByHole ? TimeSpan.FromMilliseconds(Math.Min(5, _settings.Poll.TotalMilliseconds)) : _settings.Poll, ct)
                        .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    ct.ThrowIfCancellationRequested();
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            // A read ahead still running ends with the stop token (its outcome is no one's); the loop ends after it, so
            // that a disposed projection holds no connection and reads nothing more.
            if (_prefetch is { } prefetch)
            {
                _prefetch = null;
                await ((Task)prefetch.Read).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            if (_state != ProjectionState.Failed) _state = ProjectionState.Stopped;
        }
    }

    private TimeSpan Backoff(int attempt) =>
        TimeSpan.FromMilliseconds(Math.Min(_settings.Backoff.TotalMilliseconds, 25 * Math.Pow(2, Math.Min(attempt, 20))));

    /// <summary>A failure of the handler (or an unreadable event), as opposed to one of the database.</summary>
    private sealed class HandlerFailedException(Exception inner, int events) : Exception(inner.Message, inner)
    {
        public int Events { get; } = events;
    }

    private async Task Handle(Func<Task> handler, IReadOnlyList<ProjectionEnvelope> events, CancellationToken stop)
    {
        if (events.FirstOrDefault(e => e.Event is UnreadableEvent) is { Event: UnreadableEvent unreadable })
            throw new HandlerFailedException(new InvalidOperationException(
                $"Event '{unreadable.TypeName}' cannot be read: {unreadable.Error}"), events.Count);
        using var activity = ProjectionsTracing.Source.HasListeners() ? ProjectionsTracing.Start(_id, events) : null;
        try { await handler(); }
        // Only the projection's own stop token means stop: a handler's own cancellation (an HttpClient timeout, say)
        // is a handler failure like any other, for the recovery strategy to decide.
        catch (Exception e) when (e is not OperationCanceledException || !stop.IsCancellationRequested)
        {
            Akka.EventDriven.Diagnostics.EventDrivenTracing.Fail(activity, e);
            throw new HandlerFailedException(e, events.Count);
        }
    }

    /// <summary>What a step did: found nothing new (wait for a commit or the next poll), handled a batch, or found the
    /// stored offset moved by someone else (step again at once, with the failure count untouched).</summary>
    private enum Step { Idle, Progressed, Retry }

    /// <summary>One step: the next safe events after the offset, the handler, the new offset.</summary>
    private async Task<Step> StepAsync(int limit, CancellationToken ct)
    {
        var strategy = _settings.Recovery ?? RecoveryStrategy.RetryForever;
        // Only an event that failed alone is dead-lettered: never one that merely shared a batch with the culprit.
        var deadLetter = strategy.Kind == RecoveryKind.DeadLetter && _failedAlone && _failures > strategy.Retries;
        // A read ahead for this step is finished before the step takes a connection of its own: both come from one pool,
        // and a step holding one while waiting for the other could starve it.
        var prefetched = await TakePrefetchedAsync(Offset, limit);
        await using var connection = await _reader.OpenAsync(ct);
        // On SQLite a transaction takes the database's only write lock: look before locking.
        if (_reader.Provider == StoreProvider.Sqlite && Offset is >= 0 and var seen && !await _reader.AnyAfterAsync(connection, seen, ct))
            return await IdleAsync(connection, null, seen, ct);
        if (_mode == Mode.ExactlyOnce)
        {
            await using var transaction = await connection.BeginTransactionAsync(ct);
            // Read from the offset this instance last committed or read, with no lock yet: a lock would give the
            // transaction an id before the read, and the journal reader bounds the holes it sees with an id taken
            // after it (an older one could call a hole final while its writer runs; see JournalReader). Taken on a
            // separate connection instead, that id would cost a commit of its own per step.
            var offset = Offset >= 0 ? Offset : await ReadOffsetAsync(connection, transaction, ct);
            var (events, next, read) = prefetched ?? await ReadAsync(connection, transaction, offset, limit, ct);
            _blockedByHole = next == offset && read > 0;
            if (next == offset) return await IdleAsync(connection, transaction, offset, ct);
            // Now move the offset, which locks its row: from here to the commit no other instance and no reset moves
            // it, and the handler's writes commit with it or not at all. If one did since this instance last saw it,
            // the rows read are not the ones after the stored offset: start again from the stored one.
            if (!await _offsets.TryAdvanceOffsetAsync(connection, transaction, _id.Name, _id.Key, offset, next, DateTime.UtcNow.Ticks, ct))
            {
                await transaction.RollbackAsync(ct);
                Interlocked.Exchange(ref _offset, await ReadOffsetAsync(connection, null, ct));
                return Step.Retry;
            }
            // A full batch says more is waiting: read it meanwhile (the reader is not used again until it is taken).
            if (read >= limit && _isolate == 0 && _reader.Provider == StoreProvider.PostgreSql) Prefetch(next, limit, ct);
            if (deadLetter) await DeadLetterAsync(connection, transaction, events, ct);
            else if (events.Count > 0) await Handle(() => _exactlyOnce!(events, transaction, ct), events, ct);
            await transaction.CommitAsync(ct);
            Interlocked.Exchange(ref _offset, next);
            return Step.Progressed;
        }

        var start = await ReadOffsetAsync(connection, null, ct);
        Interlocked.Exchange(ref _offset, start);
        var (batch, end, rows) = await ReadAsync(connection, null, start, limit, ct);
        _blockedByHole = end == start && rows > 0;
        if (end == start) return Step.Idle;
        if (_mode == Mode.Grouped && rows < limit && !deadLetter && _settings.Within > TimeSpan.Zero)
        {
            // Caught up with a small group: let it fill up for at most GroupWithin, then hand over what there is.
            var deadline = DateTime.UtcNow + _settings.Within;
            while (rows < limit && DateTime.UtcNow < deadline)
            {
                await Task.Delay(_settings.Poll < _settings.Within ? _settings.Poll : _settings.Within, ct);
                (batch, end, rows) = await ReadAsync(connection, null, start, limit, ct);
            }
        }
        if (deadLetter) await DeadLetterAsync(connection, null, batch, ct);
        else if (_mode == Mode.Grouped) { if (batch.Count > 0) await Handle(() => _grouped!(batch, ct), batch, ct); }
        else foreach (var e in batch) await Handle(() => _atLeastOnce!(e, ct), [e], ct);
        await StoreOffsetAsync(connection, null, end, ct);
        Interlocked.Exchange(ref _offset, end);
        return Step.Progressed;
    }

    /// <summary>Nothing new after <paramref name="seen"/>, the offset this instance last saw. The stored one may have moved
    /// meanwhile (a reset, progress by another instance): a plain read (no lock, no transaction id) keeps
    /// <see cref="Offset"/> and the status true, and a moved offset is stepped from at once.</summary>
    private async Task<Step> IdleAsync(DbConnection connection, DbTransaction? transaction, long seen, CancellationToken ct)
    {
        var stored = await ReadOffsetAsync(connection, transaction, ct);
        Interlocked.Exchange(ref _offset, stored);
        return stored == seen ? Step.Idle : Step.Retry;
    }

    private void Prefetch(long from, int limit, CancellationToken ct) =>
        _prefetch = (from, limit, Task.Run(async () =>
        {
            await using var connection = await _reader.OpenAsync(ct);
            return await ReadAsync(connection, null, from, limit, ct);
        }, ct));

    /// <summary>The prefetched batch if it starts at <paramref name="offset"/>, has the step's limit and found rows (an
    /// empty one is stale by now: what was committed since is read afresh); otherwise null. A prefetch is always
    /// finished first, whatever it found, so that the reader is never used by two reads at once.</summary>
    private async Task<Batch?> TakePrefetchedAsync(long offset, int limit)
    {
        if (_prefetch is not { } prefetch) return null;
        _prefetch = null;
        try
        {
            var batch = await prefetch.Read;
            return prefetch.From == offset && prefetch.Limit == limit && batch.NextOffset != offset ? batch : null;
        }
        catch (Exception e) when (e is not OperationCanceledException || !_stop.IsCancellationRequested)
        {
            // The step reads again itself, and reports what goes wrong then.
            return null;
        }
    }

    /// <summary>What one read of the journal gave: the decoded events, the offset after them (which may pass rows filtered
    /// out or marked deleted), and how many rows it read.</summary>
    private readonly record struct Batch(IReadOnlyList<ProjectionEnvelope> Events, long NextOffset, int RowsRead);

    private async Task<Batch> ReadAsync(DbConnection connection, DbTransaction? transaction, long offset, int limit, CancellationToken ct)
    {
        var batch = await _reader.ReadAsync(connection, transaction, offset, limit, ct);
        return new Batch(JournalEventDecoder.Decode(batch.Rows, _serialization), batch.NextOffset, batch.RowsRead);
    }

    private async Task DeadLetterAsync(DbConnection connection, DbTransaction? transaction, IReadOnlyList<ProjectionEnvelope> events, CancellationToken ct)
    {
        foreach (var e in events)
        {
            _log.Error("Projection {0} skips event {1} ({2} #{3}) into projection_dead_letters: {4}", _id, e.Offset, e.PersistenceId, e.SequenceNr, _lastError);
            await _offsets.AddDeadLetterAsync(connection, transaction, _id.Name, _id.Key,
                new ProjectionDeadLetterRow(e.Offset, e.PersistenceId, e.SequenceNr, e.TypeName, _lastError ?? ""), DateTime.UtcNow.Ticks, ct);
            Interlocked.Increment(ref _deadLetters);
        }
    }

    private Task StoreOffsetAsync(DbConnection connection, DbTransaction? transaction, long offset, CancellationToken ct) =>
        _offsets.StoreOffsetAsync(connection, transaction, _id.Name, _id.Key, offset, DateTime.UtcNow.Ticks, ct);

    private Task<long> ReadOffsetAsync(DbConnection connection, DbTransaction? transaction, CancellationToken ct) =>
        _offsets.ReadOffsetAsync(connection, transaction, _id.Name, _id.Key, ct);

    private async Task EnsureSchemaAsync(CancellationToken ct)
    {
        while (true)
        {
            try
            {
                await _offsets.PrepareAsync(_id.Name, _id.Key,
                    async token => _settings.StartFromEnd ? await _reader.MaxOrderingAsync(token) : 0L, ct);
                return;
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                _lastError = $"Preparing projection tables failed: {e.Message}";
                _log.Warning(e, "Projection {0}: preparing projection_offsets failed; retrying", _id);
                await Task.Delay(_settings.Backoff, ct);
            }
        }
    }

    /// <summary>Stops the projection; a step in progress is cancelled (exactly-once: rolled back).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _registry.Remove(this);
        _stop.Cancel();
        try { await _loop; } catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}
