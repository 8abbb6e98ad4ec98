using System.Data.Common;
using Akka.Actor;
using Akka.EventDriven.EventSourcing.Storage;
using Akka.Event;

namespace Akka.EventDriven.Projections;

/// <summary>
/// A projection whose handler's read-model writes and the projection's offset commit in one transaction on the
/// event store's database (PostgreSQL or SQLite): a crash at any point neither loses nor repeats an effect.
/// Offsets are stored in <c>projection_offsets</c>. A handler failure rolls the batch back and retries it with
/// exponential backoff. Run one instance per <see cref="ProjectionId"/> (on PostgreSQL a second one waits on the
/// offset row's lock rather than double-applying).
/// </summary>
public sealed class ExactlyOnceProjection : IAsyncDisposable
{
    private readonly ProjectionId _id;
    private readonly ExactlyOnceHandler _handler;
    private readonly ProjectionSettings _settings;
    private readonly JournalReader _reader;
    private readonly ILoggingAdapter _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _offset = -1;

    private ExactlyOnceProjection(ActorSystem system, ProjectionId id, ExactlyOnceHandler handler, ProjectionSettings settings)
    {
        _id = id;
        _handler = handler;
        _settings = settings;
        _reader = new JournalReader(StoreSettings.FromConfig(system.Settings.Config), settings, system.Serialization);
        _log = Logging.GetLogger(system, $"projection-{id}");
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Starts projection <paramref name="id"/> of <paramref name="system"/>'s event store.</summary>
    public static ExactlyOnceProjection Start(ActorSystem system, ProjectionId id, ExactlyOnceHandler handler,
        ProjectionSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(handler);
        if (string.IsNullOrWhiteSpace(id.Name) || string.IsNullOrWhiteSpace(id.Key))
            throw new ArgumentException("A projection needs a name and a key.", nameof(id));
        settings ??= new ProjectionSettings();
        if (settings.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(settings), "BatchSize must be at least 1.");
        return new ExactlyOnceProjection(system, id, handler, settings);
    }

    /// <summary>The projection's id.</summary>
    public ProjectionId Id => _id;

    /// <summary>The last committed offset (journal ordering), or -1 before the first commit is known.</summary>
    public long Offset => Interlocked.Read(ref _offset);

    /// <summary>Completes once the projection has committed every event written before the call.</summary>
    public async Task WaitUntilCaughtUpAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var target = await _reader.MaxOrderingAsync(cancellationToken);
        var deadline = DateTime.UtcNow + timeout;
        while (Offset < target)
        {
            if (_loop.IsCompleted) throw new InvalidOperationException($"Projection {_id} has stopped.", _loop.Exception);
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Projection {_id} is at offset {Offset}, not caught up with {target} after {timeout}.");
            await Task.Delay(20, cancellationToken);
        }
    }

    private async Task RunAsync()
    {
        var ct = _stop.Token;
        var failures = 0;
        await EnsureSchemaAsync(ct);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var progressed = await StepAsync(ct);
                failures = 0;
                if (!progressed) await Task.Delay(_settings.Poll, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                failures++;
                var wait = TimeSpan.FromMilliseconds(Math.Min(_settings.Backoff.TotalMilliseconds, 50 * Math.Pow(2, failures)));
                _log.Warning(e, "Projection {0} failed at offset {1} (attempt {2}); retrying in {3}", _id, Offset, failures, wait);
                try { await Task.Delay(wait, ct); } catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>One transaction: read the offset, the next safe events, run the handler, store the new offset.</summary>
    private async Task<bool> StepAsync(CancellationToken ct)
    {
        await using var connection = await _reader.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var offset = await ReadOffsetAsync(connection, transaction, ct);
        Interlocked.Exchange(ref _offset, offset);
        var (events, next) = await _reader.ReadAsync(connection, transaction, offset, ct);
        if (next == offset) return false;
        if (events.Count > 0) await _handler(events, transaction, ct);
        await using (var update = connection.CreateCommand())
        {
            update.Transaction = transaction;
            update.CommandText = "UPDATE projection_offsets SET current_offset = @offset, updated_at = @now WHERE projection_name = @name AND projection_key = @key";
            JournalReader.AddParameter(update, "offset", next);
            JournalReader.AddParameter(update, "now", DateTime.UtcNow.Ticks);
            JournalReader.AddParameter(update, "name", _id.Name);
            JournalReader.AddParameter(update, "key", _id.Key);
            await update.ExecuteNonQueryAsync(ct);
        }
        await transaction.CommitAsync(ct);
        Interlocked.Exchange(ref _offset, next);
        return true;
    }

    private async Task<long> ReadOffsetAsync(DbConnection connection, DbTransaction transaction, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT current_offset FROM projection_offsets WHERE projection_name = @name AND projection_key = @key"
                              + (_reader.Provider == StoreProvider.PostgreSql ? " FOR UPDATE" : "");
        JournalReader.AddParameter(command, "name", _id.Name);
        JournalReader.AddParameter(command, "key", _id.Key);
        return await command.ExecuteScalarAsync(ct) is { } v and not DBNull ? Convert.ToInt64(v) : 0L;
    }

    private async Task EnsureSchemaAsync(CancellationToken ct)
    {
        while (true)
        {
            try
            {
                await using var connection = await _reader.OpenAsync(ct);
                await using var command = connection.CreateCommand();
                command.CommandText = """
                    CREATE TABLE IF NOT EXISTS projection_offsets (
                      projection_name text NOT NULL,
                      projection_key text NOT NULL,
                      current_offset bigint NOT NULL,
                      updated_at bigint NOT NULL,
                      PRIMARY KEY (projection_name, projection_key));
                    INSERT INTO projection_offsets (projection_name, projection_key, current_offset, updated_at)
                    VALUES (@name, @key, 0, 0) ON CONFLICT DO NOTHING;
                    """;
                JournalReader.AddParameter(command, "name", _id.Name);
                JournalReader.AddParameter(command, "key", _id.Key);
                await command.ExecuteNonQueryAsync(ct);
                return;
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                _log.Warning(e, "Projection {0}: preparing projection_offsets failed; retrying", _id);
                await Task.Delay(_settings.Backoff, ct);
            }
        }
    }

    /// <summary>Stops the projection after the current transaction.</summary>
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try { await _loop; } catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}
