using Akka.EventDriven.Diagnostics;
using Akka.Actor;
using Akka.EventDriven.EventSourcing.Serialization;
using Akka.EventDriven.Serialization;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace Akka.EventDriven.EventSourcing;

/// <summary>The command was not tried: the aggregate is recovering and already holds <c>max-pending-commands</c>
/// commands. Nothing was stored; retry after a short backoff.</summary>
public sealed class AggregateOverloadedException(string aggregateName, string aggregateId, string reason)
    : AggregateFailedException(aggregateName, aggregateId, reason);
