using Akka.EventDriven.Diagnostics;
using System.Collections.Concurrent;
using Akka.EventDriven.EventSourcing;

namespace Akka.EventDriven.Cqrs;

/// <summary>Why a command did not succeed; each kind is distinguishable by the caller.</summary>
public enum CommandErrorKind
{
    /// <summary>The command was invalid before it reached an aggregate.</summary>
    Validation,
    /// <summary>The aggregate rejected it (a business rule).</summary>
    Rejected,
    /// <summary>Optimistic concurrency: the expected version did not match.</summary>
    ConcurrencyConflict,
    /// <summary>No answer in time.</summary>
    Timeout,
    /// <summary>No handler is registered for the command type.</summary>
    NoHandler,
    /// <summary>The command could not be processed (storage failure, handler exception).</summary>
    Failed,
}
