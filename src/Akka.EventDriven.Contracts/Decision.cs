namespace Akka.EventDriven;

/// <summary>
/// What a command handler decided: the events to raise (possibly none) or a rejection with a reason.
/// A rejected command persists nothing.
/// </summary>
public sealed class Decision
{
    private static readonly object[] NoEvents = [];

    private Decision(IReadOnlyList<object> events, string? rejection)
    {
        Events = events;
        RejectionReason = rejection;
    }

    /// <summary>The events to persist, in order. Empty for a rejection or a no-op.</summary>
    public IReadOnlyList<object> Events { get; }

    /// <summary>Why the command was rejected, or null when it was accepted.</summary>
    public string? RejectionReason { get; }

    /// <summary>True when the command was rejected.</summary>
    public bool IsRejected => RejectionReason is not null;

    /// <summary>Accept the command and raise these events.</summary>
    public static Decision Raise(params object[] events)
    {
        ArgumentNullException.ThrowIfNull(events);
        foreach (var e in events)
            if (e is null) throw new ArgumentException("Raised events must not be null.", nameof(events));
        return new Decision(events.Length == 0 ? NoEvents : events, null);
    }

    /// <summary>Accept the command and raise these events.</summary>
    public static Decision Raise(IEnumerable<object> events) => Raise(events.ToArray());

    /// <summary>Accept the command without raising anything (an idempotent repeat, for instance).</summary>
    public static Decision Accept() => new(NoEvents, null);

    /// <summary>Reject the command with a reason the caller will see.</summary>
    public static Decision Reject(string reason)
    {
        if (string.IsNullOrWhiteSpace(reason)) throw new ArgumentException("A rejection needs a reason.", nameof(reason));
        return new Decision(NoEvents, reason);
    }

    /// <summary>Reject a command this aggregate has no handler for, naming its type.</summary>
    public static Decision Unhandled(object command) =>
        Reject($"Command '{command?.GetType().Name ?? "null"}' is not handled by this aggregate.");
}
