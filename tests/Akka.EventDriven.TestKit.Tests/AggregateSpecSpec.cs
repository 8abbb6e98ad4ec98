namespace Akka.EventDriven.TestKit.Tests;

public sealed class AggregateSpecSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Then_passes_when_the_aggregate_raises_the_expected_events()
    {
        AggregateSpec.For(Tally.Definition)
            .Given(new TallyOpened("beans", T0))
            .When(new AddToTally(5))
            .Then(new TallyAdded(5));
    }

    [Fact]
    public void Then_fails_showing_expected_and_actual_events_as_stable_type_names_and_json()
    {
        var failure = Assert.Throws<EventDrivenAssertionException>(() => AggregateSpec.For(new BuggyTally())
            .Given(new TallyOpened("beans", T0))
            .When(new AddToTally(5))
            .Then(new TallyAdded(5)));

        Assert.Contains("expected 1 event:\n  1. tally.added.v1 {\"amount\":5}", failure.Message);
        Assert.Contains("but it raised 1 event:\n  1. tally.added.v1 {\"amount\":10}", failure.Message);
        Assert.Contains("event 1 (tally.added.v1) differs at $.amount: expected 5, actual 10", failure.Message);
        Assert.Contains("Given 1 event:\n  1. tally.opened.v1 {\"name\":\"beans\"", failure.Message);
        Assert.Contains("When tally.add.v1 {\"amount\":5}", failure.Message);
    }

    [Fact]
    public void Then_fails_on_a_missing_event_and_on_a_rejection()
    {
        var missing = Assert.Throws<EventDrivenAssertionException>(() => AggregateSpec.For(Tally.Definition)
            .Given(new TallyOpened("beans", T0))
            .When(new AddToTally(5))
            .Then(new TallyAdded(5), new TallyClosed()));
        Assert.Contains("event 2 is missing: tally.closed.v1 {}", missing.Message);

        var rejected = Assert.Throws<EventDrivenAssertionException>(() => AggregateSpec.For(Tally.Definition)
            .When(new AddToTally(5))
            .Then(new TallyAdded(5)));
        Assert.Contains("but the command was rejected: \"The tally is not open.\"", rejected.Message);
        Assert.Contains("Given 0 events:\n  (none)", rejected.Message);
    }

    [Fact]
    public void Ignoring_leaves_values_the_aggregate_makes_up_out_of_the_comparison()
    {
        AggregateSpec.For(Tally.Definition).Ignoring("at").When(new OpenTally("beans")).Then(new TallyOpened("beans", T0));

        var failure = Assert.Throws<EventDrivenAssertionException>(() =>
            AggregateSpec.For(Tally.Definition).When(new OpenTally("beans")).Then(new TallyOpened("beans", T0)));
        Assert.Contains("differs at $.at: expected \"2026-01-01T00:00:00+00:00\"", failure.Message);
    }

    [Fact]
    public void ThenRejected_passes_on_a_rejection_with_that_reason_and_fails_otherwise()
    {
        var open = AggregateSpec.For(Tally.Definition).Given(new TallyOpened("beans", T0));
        open.When(new AddToTally(0)).ThenRejected("must be positive");

        var accepted = Assert.Throws<EventDrivenAssertionException>(() =>
            AggregateSpec.For(new BuggyTally()).Given(new TallyOpened("beans", T0)).When(new AddToTally(0)).ThenRejected("must be positive"));
        Assert.Contains("expected a rejection containing \"must be positive\", but the command was accepted and raised 1 event:\n  1. tally.added.v1 {\"amount\":0}",
            accepted.Message);

        var otherReason = Assert.Throws<EventDrivenAssertionException>(() => open.When(new AddToTally(0)).ThenRejected("closed"));
        Assert.Contains("expected a rejection containing \"closed\", but it was rejected with \"Amounts must be positive.\"", otherReason.Message);
    }

    [Fact]
    public void ThenState_and_ThenNothing_check_the_new_state_and_an_empty_decision()
    {
        var spec = AggregateSpec.For(Tally.Definition).Given(new TallyOpened("beans", T0), new TallyAdded(2));
        spec.When(new AddToTally(3)).Then(new TallyAdded(3)).ThenState(s => Assert.Equal(5, s.Total));
        spec.When(new AddToTally(3)).ThenState(s => s.Total == 5, "a total of 5");

        var wrong = Assert.Throws<EventDrivenAssertionException>(() => AggregateSpec.For(new BuggyTally())
            .Given(new TallyOpened("beans", T0), new TallyAdded(2)).When(new AddToTally(3)).ThenState(s => Assert.Equal(5, s.Total)));
        Assert.Contains("the state after the command is not as expected", wrong.Message);
        Assert.Contains("State: BuggyTally.state.v1 {\"open\":true,\"closed\":false,\"name\":\"beans\",\"total\":8}", wrong.Message);

        var predicate = Assert.Throws<EventDrivenAssertionException>(() =>
            spec.When(new AddToTally(4)).ThenState(s => s.Total == 5, "a total of 5"));
        Assert.Contains("does not satisfy a total of 5", predicate.Message);

        var nothing = Assert.Throws<EventDrivenAssertionException>(() => spec.When(new CloseTally()).ThenNothing());
        Assert.Contains("expected 0 events:\n  (none)\nbut it raised 1 event:\n  1. tally.closed.v1 {}", nothing.Message);
    }

    [Fact]
    public void A_handler_that_throws_is_reported_with_its_exception()
    {
        var spec = AggregateSpec.For(new BuggyTally()).Given(new TallyOpened("beans", T0));
        Assert.Equal("close is broken", spec.When(new CloseTally()).ThenThrows<InvalidOperationException>().Message);

        var failure = Assert.Throws<EventDrivenAssertionException>(() => spec.When(new CloseTally()).Then(new TallyClosed()));
        Assert.Contains("but Decide threw InvalidOperationException: close is broken", failure.Message);
        var notThrown = Assert.Throws<EventDrivenAssertionException>(() =>
            AggregateSpec.For(Tally.Definition).When(new CloseTally()).ThenThrows<InvalidOperationException>());
        Assert.Contains("expected Decide to throw InvalidOperationException, but it returned a decision (rejected: \"The tally is not open.\")", notThrown.Message);
    }

    [Fact]
    public void An_event_that_is_not_registered_fails_at_When_with_how_to_register_it()
    {
        var failure = Assert.Throws<EventDrivenAssertionException>(() => AggregateSpec.For(new SerializationTally()).When("unregistered"));
        Assert.Contains("raised event 1 (NotRegisteredEvent) cannot be stored", failure.Message);
        Assert.Contains("has no stable message type name. Register it with MessageTypeRegistry.Register<NotRegisteredEvent>", failure.Message);
    }

    [Fact]
    public void An_event_that_cannot_be_read_back_or_loses_data_in_json_fails_at_When()
    {
        var unreadable = Assert.Throws<EventDrivenAssertionException>(() => AggregateSpec.For(new SerializationTally()).When("unreadable"));
        Assert.Contains("raised event 1 does not round-trip through the serializer: written as tally.unreadable.v1 {\"value\":1}, " +
                        "read back as {\"value\":0} ($.value: expected 1, actual 0)", unreadable.Message);

        var lossy = Assert.Throws<EventDrivenAssertionException>(() => AggregateSpec.For(new SerializationTally()).When("lossy"));
        Assert.Contains("the state after the raised events differs from the state recovered from their JSON ($.name: expected \"kept in memory only\", actual null)",
            lossy.Message);
    }
}
