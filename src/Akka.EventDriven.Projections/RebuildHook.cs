using System.Data.Common;
using Akka.Event;
using Akka.EventDriven.Storage;

namespace Akka.EventDriven.Projections;

/// <summary>Clears a projection's read model when it is rebuilt; runs in the transaction that resets its offset.</summary>
public delegate Task RebuildHook(DbTransaction transaction, CancellationToken cancellationToken);
