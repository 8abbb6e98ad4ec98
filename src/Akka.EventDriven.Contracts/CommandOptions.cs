namespace Akka.EventDriven;

/// <summary>Options of one command.</summary>
public sealed record CommandOptions
{
    /// <summary>When set, the command is rejected unless the aggregate is at exactly this version
    /// (0 = not created yet). Default: null, no check.</summary>
    public long? ExpectedVersion { get; init; }

    /// <summary>Correlation id recorded in the metadata of every event the command raises. Default: null.</summary>
    public string? CorrelationId { get; init; }

    /// <summary>Causation id (the id of the message that caused this command) recorded with the events. Default: null.</summary>
    public string? CausationId { get; init; }

    /// <summary>Free-form headers recorded with the events (user id, tenant, ...). Default: none.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>How long to wait for the result; default: <c>akka.event-driven.event-sourcing.ask-timeout</c>.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>The command's idempotency key. The repository resends a command that got no answer (a message dropped
    /// while its aggregate moves to another node) and the aggregate answers a command id it has already stored with
    /// the first result instead of deciding it again; the id is stored with the events. Default: a new id per call.
    /// Give your own (an HTTP <c>Idempotency-Key</c>, a message id) to make your own retries safe as well: within the
    /// aggregate's last <c>idempotency.remembered-commands</c> stored commands, a repeat gets the first result.</summary>
    public string? CommandId { get; init; }
}
