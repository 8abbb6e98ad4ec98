#region usings
using Akka.EventDriven.TestKit;
using IntelOps.Domain;
#endregion
using System.Runtime.CompilerServices;
using Akka.EventDriven.Serialization;

namespace IntelOps.Tests;

/// <summary>The guide's Investigation aggregate, tested with no actor system.</summary>
public sealed class InvestigationSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    #region testkit-aggregate
    // Aggregates, no actor system: every given and raised event also round-trips through the registry's serializer.
    [Fact]
    public void A_finding_is_added_to_an_active_investigation() =>
        AggregateSpec.For(Investigation.Definition)
            .Given(new InvestigationStarted("APT29", "ana", T0))
            .When(new AddFinding("C2 beacon", 8))
            .Then(new FindingAdded(new Finding("C2 beacon", 8)));

    [Fact]
    public void Starting_raises_started_with_the_title_and_analyst() =>
        AggregateSpec.For(Investigation.Definition).Ignoring("startedAt")
            .When(new StartInvestigation("APT29", "ana"))
            .Then(new InvestigationStarted("APT29", "ana", T0))
            .ThenState(s => Assert.Equal(InvestigationStatus.Active, s.Status));

    [Fact]
    public void Bad_commands_are_rejected_with_their_reason()
    {
        var active = AggregateSpec.For(Investigation.Definition).Given(new InvestigationStarted("APT29", "ana", T0));
        active.When(new AddFinding("bogus", 42)).ThenRejected("between 1 and 10");
        active.Given(new InvestigationClosed("attributed")).When(new AddFinding("late", 3)).ThenRejected("closed");
        AggregateSpec.For(Investigation.Definition).When(new AddFinding("early", 3)).ThenRejected("not started");
        active.Given(new EntityLinked("e-1")).When(new LinkEntity("e-1")).ThenNothing();     // idempotent repeat
    }
    // A wrong Then fails with: expected 1 event: 1. tally.added.v1 {"amount":5} but it raised ... {"amount":10}
    //                          event 1 (tally.added.v1) differs at $.amount: expected 5, actual 10
    #endregion

    [Fact]
    public void Every_registered_type_keeps_the_json_shape_it_was_stored_with() =>
        GoldenEvents.Verify(new MessageTypeRegistry().RegisterAssembly(typeof(Investigation).Assembly), Path.Combine(Here(), "golden-events.json"));

    private static string Here([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
