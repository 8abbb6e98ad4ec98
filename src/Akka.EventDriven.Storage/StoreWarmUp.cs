using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;

namespace Akka.EventDriven.Storage;

/// <summary>
/// Takes a new node's first trip to the store before it serves anything: one recovery of a persistence id that has no
/// events, through the journal and the snapshot store plugins, exactly as an aggregate's first recovery goes. That
/// first trip creates the plugin actors, the tables if needed, the connection pools and the plugins' compiled queries,
/// and on a busy machine it can take seconds; paid here, it no longer eats into the first commands' time-outs (the
/// journal's circuit breaker would otherwise fail that first recovery at its call-timeout). A failed attempt is retried
/// with backoff until the time given is spent; the node then starts anyway (its readiness check reports the store).
/// </summary>
public static class StoreWarmUp
{
    /// <summary>The persistence id the warm-up recovers; nothing is ever written to it.</summary>
    public const string PersistenceId = "akka-event-driven-warm-up";

    private static readonly TimeSpan[] Backoff =
        [TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1)];

    /// <summary>Recovers <see cref="PersistenceId"/> through the default journal and snapshot store, retrying until it
    /// succeeds or <paramref name="timeout"/> is spent. Returns true when the store answered.</summary>
    public static async Task<bool> RunAsync(ActorSystem system, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (timeout <= TimeSpan.Zero) return true;
        var log = Logging.GetLogger(system, typeof(StoreWarmUp));
        var persistence = Persistence.Persistence.Instance.Apply(system);
        var journal = persistence.JournalFor(null);
        var snapshots = persistence.SnapshotStoreFor(null);
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        for (var attempt = 0; ; attempt++)
        {
            var left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero) break;
            try
            {
                var snapshot = snapshots.Ask<object>(
                    new LoadSnapshot(PersistenceId, SnapshotSelectionCriteria.Latest, long.MaxValue), left, cancellationToken);
                var replay = journal.Ask<object>(
                    replyTo => new ReplayMessages(1, long.MaxValue, 1, PersistenceId, replyTo), left, cancellationToken);
                if (await snapshot is LoadSnapshotFailed snapshotFailed) throw snapshotFailed.Cause;
                if (await replay is ReplayMessagesFailure replayFailed) throw replayFailed.Cause;
                if (clock.Elapsed > TimeSpan.FromSeconds(1))
                    log.Info("The store answered its first recovery after {0} ms ({1} attempt(s))",
                        (long)clock.Elapsed.TotalMilliseconds, attempt + 1);
                return true;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                last = e;
                var wait = Backoff[Math.Min(attempt, Backoff.Length - 1)];
                if (timeout - clock.Elapsed <= wait) break;
                log.Warning("The store's first recovery failed ({0}: {1}); trying again in {2} ms",
                    e.GetType().Name, e.Message, (long)wait.TotalMilliseconds);
                await Task.Delay(wait, cancellationToken);
            }
        }
        log.Error(last, "The store did not answer a recovery within {0} s; the node starts anyway and its first " +
                        "commands may fail until it does", timeout.TotalSeconds);
        return false;
    }
}
