using System.Threading.Channels;
using Akka.EventDriven.Storage;

namespace Akka.EventDriven.Sagas.Internal;

/// <summary>
/// The durable index of running sagas: one row per saga id, added (durably) before the saga's start is sent and
/// removed once it finished. Every node's <see cref="SagaResumer"/> reads it to wake running sagas after a restart
/// or a node loss. Writes from all sagas of a node are group-committed: everything queued while a transaction runs
/// goes into the next one.
/// </summary>
internal sealed class SagaIndex : IAsyncDisposable
{
    private readonly record struct Op(bool Add, string Id, string? Name, TaskCompletionSource? Done);

    private readonly SagaIndexStore _rows;
    private readonly Channel<Op> _ops = Channel.CreateUnbounded<Op>();
    private readonly Task[] _writers;
    private readonly Action<Exception> _onError;

    private SagaIndex(StoreSettings store, SagaIndexStore rows, Action<Exception> onError)
    {
        _rows = rows;
        _onError = onError;
        // Two writers on PostgreSQL (a batch is written while the next one fills; an id's removal is queued only after
        // its addition committed, so they never race); SQLite has a single writer anyway.
        _writers = Enumerable.Range(0, store.Provider == StoreProvider.PostgreSql ? 2 : 1).Select(_ => Task.Run(WriteLoopAsync)).ToArray();
    }

    public static async Task<SagaIndex> OpenAsync(StoreSettings store, string table, Action<Exception> onError)
    {
        var rows = new SagaIndexStore(store, table);
        await rows.EnsureTableAsync();
        return new SagaIndex(store, rows, onError);
    }

    /// <summary>Completes once the row is durable.</summary>
    public Task AddAsync(string sagaId, string sagaName)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_ops.Writer.TryWrite(new Op(true, sagaId, sagaName, done)))
            done.TrySetException(new ObjectDisposedException(nameof(SagaIndex)));
        return done.Task;
    }

    /// <summary>Removes the row in the background (a row left behind is removed by the next sweep).</summary>
    public void Remove(string sagaId) => _ops.Writer.TryWrite(new Op(false, sagaId, null, null));

    /// <summary>Every indexed saga id with the time it was added.</summary>
    public Task<IReadOnlyList<(string Id, DateTimeOffset Since)>> ReadAllAsync(CancellationToken cancellationToken) =>
        _rows.ReadAllAsync(cancellationToken);

    private async Task WriteLoopAsync()
    {
        var batch = new List<Op>();
        while (await _ops.Reader.WaitToReadAsync())
        {
            while (batch.Count < 2000 && _ops.Reader.TryRead(out var op)) batch.Add(op);
            try
            {
                await WriteAsync(batch);
                foreach (var op in batch) op.Done?.TrySetResult();
            }
            catch (Exception e) when (batch.Count > 1 && !IsTransient(e))
            {
                // One bad request (a value the database refuses) must not fail the others of its group commit: the
                // batch was rolled back, so each request is written on its own and only the offending one fails.
                _onError(e);
                foreach (var op in batch)
                {
                    try
                    {
                        await WriteAsync([op]);
                        op.Done?.TrySetResult();
                    }
                    catch (Exception single)
                    {
                        _onError(single);
                        op.Done?.TrySetException(single);
                    }
                }
            }
            catch (Exception e)
            {
                _onError(e);
                foreach (var op in batch) op.Done?.TrySetException(e);
            }
            batch.Clear();
        }
    }

    /// <summary>A failure that may pass by itself (the database away, a lock, a timeout): writing the requests one by
    /// one would not help, so the batch fails as a whole and the callers retry.</summary>
    private static bool IsTransient(Exception e) => StoreErrors.IsTransient(e);

    private Task WriteAsync(List<Op> batch) =>
        _rows.WriteAsync(batch.Where(o => o.Add).Select(o => (o.Id, o.Name)).ToList(),
            batch.Where(o => !o.Add).Select(o => o.Id).ToArray(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    public async ValueTask DisposeAsync()
    {
        _ops.Writer.TryComplete();
        await Task.WhenAll(_writers);
    }
}
