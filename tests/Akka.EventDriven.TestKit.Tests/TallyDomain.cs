using System.Text.Json.Serialization;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.TestKit.Tests;

[EventType("tally.open", 1)] public sealed record OpenTally(string Name);
[EventType("tally.add", 1)] public sealed record AddToTally(int Amount);
[EventType("tally.close", 1)] public sealed record CloseTally;

[EventType("tally.opened", 1)] public sealed record TallyOpened(string Name, DateTimeOffset At);
[EventType("tally.added", 1)] public sealed record TallyAdded(int Amount);
[EventType("tally.closed", 1)] public sealed record TallyClosed;

public sealed record TallyState(bool Open, bool Closed, string? Name, int Total)
{
    public static readonly TallyState Empty = new(false, false, null, 0);
}

/// <summary>The aggregate the TestKit's own specs test: correct code.</summary>
public sealed class Tally : Aggregate<TallyState>
{
    public static readonly Tally Definition = new();
    public override string Name => "Tally";
    public override TallyState InitialState => TallyState.Empty;

    public override Decision Decide(TallyState state, object command) => (state, command) switch
    {
        ({ Open: false, Closed: false }, OpenTally c) => Decision.Raise(new TallyOpened(c.Name, DateTimeOffset.UtcNow)),
        ({ Open: false }, _) => Decision.Reject("The tally is not open."),
        (_, AddToTally { Amount: <= 0 }) => Decision.Reject("Amounts must be positive."),
        (_, AddToTally c) => Decision.Raise(new TallyAdded(c.Amount)),
        (_, CloseTally) => Decision.Raise(new TallyClosed()),
        _ => Decision.Unhandled(command),
    };

    public override TallyState Apply(TallyState state, object @event) => @event switch
    {
        TallyOpened e => state with { Open = true, Name = e.Name },
        TallyAdded e => state with { Total = state.Total + e.Amount },
        TallyClosed => state with { Open = false, Closed = true },
        _ => state,
    };
}

// ---- Wrong code, for the specs that show the helpers failing ------------------------------------------------------

/// <summary>Raises the wrong amount and forgets to reject non-positive amounts.</summary>
public sealed class BuggyTally : Aggregate<TallyState>
{
    public override string Name => "BuggyTally";
    public override TallyState InitialState => TallyState.Empty;
    public override Decision Decide(TallyState state, object command) => command switch
    {
        OpenTally c => Decision.Raise(new TallyOpened(c.Name, DateTimeOffset.UtcNow)),
        AddToTally c => Decision.Raise(new TallyAdded(c.Amount * 2)),
        CloseTally => throw new InvalidOperationException("close is broken"),
        _ => Decision.Unhandled(command),
    };
    public override TallyState Apply(TallyState state, object @event) => Definition.Apply(state, @event);
    private static readonly Tally Definition = new();
}

public sealed record NotRegisteredEvent(int Amount);

/// <summary>Loses a member in JSON: the note is never stored, so a recovered tally differs from the live one.</summary>
[EventType("tally.noted", 1)]
public sealed record TallyNoted(int Amount)
{
    [JsonIgnore] public string? Note { get; init; }
}

/// <summary>Written as {"value": n} but its constructor wants "raw": it can be stored but never read back.</summary>
[EventType("tally.unreadable", 1)]
public sealed record UnreadableEvent(int Raw)
{
    [JsonIgnore] public int Raw { get; } = Raw;
    public int Value => Raw;
}

/// <summary>Raises events the serializer cannot take (one of them per command).</summary>
public sealed class SerializationTally : Aggregate<TallyState>
{
    public override string Name => "SerializationTally";
    public override TallyState InitialState => TallyState.Empty;
    public override Decision Decide(TallyState state, object command) => command switch
    {
        "unregistered" => Decision.Raise(new NotRegisteredEvent(1)),
        "unreadable" => Decision.Raise(new UnreadableEvent(1)),
        "lossy" => Decision.Raise(new TallyNoted(1) { Note = "kept in memory only" }),
        _ => Decision.Unhandled(command),
    };
    public override TallyState Apply(TallyState state, object @event) => @event switch
    {
        TallyNoted n => state with { Name = n.Note },
        _ => state,
    };
}
