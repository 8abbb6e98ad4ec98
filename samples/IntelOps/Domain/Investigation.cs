#region usings
using System.Collections.Immutable;
using Akka.EventDriven;
using Akka.EventDriven.Serialization;
#endregion

namespace IntelOps.Domain;

#region investigation
// Commands: what an analyst asks for.
[EventType("investigation.start", 1)] public sealed record StartInvestigation(string Title, string Analyst);
[EventType("investigation.add-finding", 1)] public sealed record AddFinding(string Summary, int Severity);
[EventType("investigation.link-entity", 1)] public sealed record LinkEntity(string EntityId);
[EventType("investigation.close", 1)] public sealed record CloseInvestigation(string Conclusion);

// Events: what happened, past tense, versioned from the start.
[EventType("investigation.started", 1)] public sealed record InvestigationStarted(string Title, string Analyst, DateTimeOffset StartedAt);
[EventType("investigation.finding-added", 1)] public sealed record FindingAdded(Finding Finding);
[EventType("investigation.entity-linked", 1)] public sealed record EntityLinked(string EntityId);
[EventType("investigation.closed", 1)] public sealed record InvestigationClosed(string Conclusion);

public sealed record Finding(string Summary, int Severity);

public enum InvestigationStatus { Pending, Active, Closed }

[EventType("investigation.state", 1)]
public sealed record InvestigationState(
    InvestigationStatus Status,
    string? Title,
    string? Analyst,
    ImmutableList<Finding> Findings,
    ImmutableHashSet<string> Entities)
{
    public static readonly InvestigationState Empty = new(InvestigationStatus.Pending, null, null, [], []);
}

/// <summary>The guide's Investigation aggregate: pure decisions and a pure fold, no Akka in sight.</summary>
public sealed class Investigation : Aggregate<InvestigationState>
{
    public static readonly Investigation Definition = new();

    public override string Name => "Investigation";
    public override InvestigationState InitialState => InvestigationState.Empty;

    public override Decision Decide(InvestigationState state, object command) => (state.Status, command) switch
    {
        (InvestigationStatus.Pending, StartInvestigation c) when string.IsNullOrWhiteSpace(c.Title) => Decision.Reject("A title is required."),
        (InvestigationStatus.Pending, StartInvestigation c) => Decision.Raise(new InvestigationStarted(c.Title, c.Analyst, DateTimeOffset.UtcNow)),
        (_, StartInvestigation) => Decision.Reject("The investigation has already started."),
        (InvestigationStatus.Pending, _) => Decision.Reject("The investigation has not started."),
        (InvestigationStatus.Closed, _) => Decision.Reject("The investigation is closed."),
        (_, AddFinding { Severity: < 1 or > 10 }) => Decision.Reject("Severity must be between 1 and 10."),
        (_, AddFinding c) => Decision.Raise(new FindingAdded(new Finding(c.Summary, c.Severity))),
        (_, LinkEntity c) when state.Entities.Contains(c.EntityId) => Decision.Accept(), // idempotent repeat
        (_, LinkEntity c) => Decision.Raise(new EntityLinked(c.EntityId)),
        (_, CloseInvestigation c) => Decision.Raise(new InvestigationClosed(c.Conclusion)),
        _ => Decision.Unhandled(command),
    };

    public override InvestigationState Apply(InvestigationState state, object @event) => @event switch
    {
        InvestigationStarted e => state with { Status = InvestigationStatus.Active, Title = e.Title, Analyst = e.Analyst },
        FindingAdded e => state with { Findings = state.Findings.Add(e.Finding) },
        EntityLinked e => state with { Entities = state.Entities.Add(e.EntityId) },
        InvestigationClosed => state with { Status = InvestigationStatus.Closed },
        _ => state,
    };

    public override IEnumerable<string> Tags(object @event) =>
        @event is FindingAdded { Finding.Severity: >= 8 } ? ["high-severity"] : [];
}
#endregion
