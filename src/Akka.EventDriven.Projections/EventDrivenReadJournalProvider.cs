using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence.Query;

namespace Akka.EventDriven.Projections;

/// <summary>Creates <see cref="EventDrivenReadJournal"/> for <c>PersistenceQuery.ReadJournalFor</c> (named by the
/// <c>class</c> of <c>akka.persistence.query.journal.event-driven</c>).</summary>
public sealed class EventDrivenReadJournalProvider(ExtendedActorSystem system, Config config) : IReadJournalProvider
{
    /// <inheritdoc />
    public IReadJournal GetReadJournal() => new EventDrivenReadJournal(system, config);
}
