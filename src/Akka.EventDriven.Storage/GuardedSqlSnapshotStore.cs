using Akka.Actor;
using Akka.Event;
using Akka.Pattern;
using Akka.Persistence;
using Akka.Persistence.Sql.Snapshot;

namespace Akka.EventDriven.Storage;

/// <summary>
/// Akka.Persistence.Sql's snapshot store, with one repair: while its circuit breaker is half open, a second request is
/// refused by the breaker with an exception thrown straight out of the store's receive, which crashes the store. The
/// restart then re-runs table initialisation (failing while the database is down, so the store restarts again and
/// again), and the refused request is never answered, so the aggregate whose recovery asked for it waits for the whole
/// recovery timeout (30 s) after the database is back. Here the refusal is answered as the failure it is, at once, so
/// that the aggregate's own recovery retry takes over and the node resumes as soon as the database answers.
/// And one addition: loads are coalesced (<see cref="SnapshotLoader"/>), many aggregates' in one query.
/// </summary>
public sealed class GuardedSqlSnapshotStore : SqlSnapshotStore
{
    private readonly SnapshotLoader? _loader;

    /// <summary>Created by Akka.Persistence from the plugin config.</summary>
    public GuardedSqlSnapshotStore(Configuration.Config config) : base(config) =>
        _loader = SnapshotLoader.Create(config, Context.System, Context.GetLogger());

    /// <inheritdoc />
    protected override void PostStop()
    {
        _loader?.Stop();
        base.PostStop();
    }

    /// <inheritdoc />
    protected override bool AroundReceive(Receive receive, object message)
    {
        if (_loader is not null && message is LoadSnapshot loading && !Equals(loading.Criteria, SnapshotSelectionCriteria.None))
        {
            _loader.Enqueue(loading, Sender);
            return true;
        }
        try
        {
            return base.AroundReceive(receive, message);
        }
        catch (OpenCircuitException e)
        {
            switch (message)
            {
                case LoadSnapshot load: Sender.Tell(new LoadSnapshotFailed(e)); break;
                case SaveSnapshot save: Sender.Tell(new SaveSnapshotFailure(save.Metadata, e)); break;
                case DeleteSnapshot delete: Sender.Tell(new DeleteSnapshotFailure(delete.Metadata, e)); break;
                case DeleteSnapshots deletes: Sender.Tell(new DeleteSnapshotsFailure(deletes.Criteria, e)); break;
                default: throw;
            }
            return true;
        }
    }
}
