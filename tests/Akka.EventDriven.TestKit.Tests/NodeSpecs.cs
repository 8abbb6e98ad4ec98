using System.Collections.Concurrent;
using Akka.EventDriven.EventBus;
using Akka.EventDriven.EventSourcing.Tests;
using Akka.EventDriven.Hosting;
using Akka.EventDriven.Projections;
using Akka.EventDriven.Sagas;
using Akka.EventDriven.Serialization;
using Akka.Hosting;

namespace Akka.EventDriven.TestKit.Tests;

[EventType("probe.threat", 1)] public sealed record Threat(int Severity, string Name);

/// <summary>The spec classes below run on a node of the kit: the Tally aggregate, the bus, the probe types.</summary>
public abstract class TallyNodeSpec : EventDrivenTestKit
{
    protected override void ConfigureEventDriven(EventDrivenOptions o) =>
        o.RegisterTypes(typeof(Tally).Assembly).AddAggregate(Tally.Definition);
}

public sealed class TestNodeSpec : TallyNodeSpec
{
    [Fact]
    public async Task Commands_are_accepted_or_rejected_on_a_real_node_and_the_state_is_read_back()
    {
        var id = Unique("tally");
        var opened = await ExpectAcceptedAsync(Tally.Definition, id, new OpenTally("beans"));
        Assert.Equal(1, opened.Version);
        await ExpectAcceptedAsync(Tally.Definition, id, new AddToTally(4));
        await ExpectRejectedAsync(Tally.Definition, id, new AddToTally(-1), "positive");
        var state = await StateOfAsync(Tally.Definition, id);
        Assert.Equal((2L, 4), (state.Version, state.State.Total));
        Assert.Equal(Node.Store.Provider, Environment.GetEnvironmentVariable("DATABASE_URL") is { Length: > 0 }
            ? Storage.StoreProvider.PostgreSql : Storage.StoreProvider.Sqlite);
    }

    [Fact]
    public async Task Expecting_the_wrong_outcome_fails_with_the_reason_or_the_raised_events()
    {
        var id = Unique("tally");
        var notOpen = await Assert.ThrowsAsync<EventDrivenAssertionException>(() => ExpectAcceptedAsync(Tally.Definition, id, new AddToTally(4)));
        Assert.Equal($"Tally {id}: expected tally.add.v1 {{\"amount\":4}} to be accepted, but it was rejected at version 0: \"The tally is not open.\"", notOpen.Message);

        var accepted = await Assert.ThrowsAsync<EventDrivenAssertionException>(() => ExpectRejectedAsync(Tally.Definition, id, new OpenTally("beans")));
        Assert.Contains($"Tally {id}: expected tally.open.v1 {{\"name\":\"beans\"}} to be rejected, but it was accepted (version 1) and raised:\n  1. tally.opened.v1 {{\"name\":\"beans\",\"at\":",
            accepted.Message);
    }
}

public sealed class TopicProbeSpec : TallyNodeSpec
{
    [Fact]
    public async Task A_probe_receives_what_is_published_to_its_topic()
    {
        var topic = Unique("intel.threats");
        await using var probe = await SubscribeProbeAsync<Threat>(topic);
        await Bus.PublishAsync(topic, new Threat(9, "APT29"));
        await Bus.PublishAsync(topic, new Threat(3, "noise"));
        await probe.ExpectMessageAsync(new Threat(9, "APT29"));
        await probe.ExpectMessageAsync(t => t.Severity < 5, "a low severity");
        await probe.ExpectNoMessageAsync(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task A_durable_group_probe_gets_every_message_in_order()
    {
        var topic = Unique("cases");
        await using var probe = await SubscribeProbeAsync<Threat>(topic, new SubscriptionOptions { Durable = true, Group = "audit" });
        for (var i = 1; i <= 5; i++) await Bus.PublishAsync(topic, new Threat(i, $"t{i}"), new PublishOptions { Persistent = true, PartitionKey = "one" });
        var received = await probe.ReceiveNAsync(5, TimeSpan.FromSeconds(30));
        Assert.Equal([1, 2, 3, 4, 5], received.Select(m => m.Payload.Severity));
    }

    [Fact]
    public async Task Wrong_expectations_fail_naming_the_topic_and_showing_the_messages()
    {
        var topic = Unique("intel.threats");
        await using var probe = await SubscribeProbeAsync<Threat>(topic);
        await Bus.PublishAsync(topic, new Threat(9, "APT28"));
        var wrong = await Assert.ThrowsAsync<EventDrivenAssertionException>(() => probe.ExpectMessageAsync(new Threat(9, "APT29")));
        Assert.Contains($"TopicProbe on '{topic}': expected probe.threat.v1 {{\"severity\":9,\"name\":\"APT29\"}}\nbut the next message was probe.threat.v1 {{\"severity\":9,\"name\":\"APT28\"}}", wrong.Message);
        Assert.Contains("($.name: expected \"APT29\", actual \"APT28\")", wrong.Message);

        await Bus.PublishAsync(topic, new Threat(1, "late"));
        var unexpected = await Assert.ThrowsAsync<EventDrivenAssertionException>(() => probe.ExpectNoMessageAsync(TimeSpan.FromSeconds(5)));
        Assert.Contains("expected no message for 00:00:05, but received probe.threat.v1 {\"severity\":1,\"name\":\"late\"}", unexpected.Message);

        await Bus.PublishAsync(topic, new Threat(2, "only one"));
        var tooFew = await Assert.ThrowsAsync<EventDrivenAssertionException>(() => probe.ReceiveNAsync(2, TimeSpan.FromMilliseconds(500)));
        Assert.Contains($"TopicProbe on '{topic}': expected 2 messages within 00:00:00.5000000, received 1:\n  1. probe.threat.v1 {{\"severity\":2,\"name\":\"only one\"}}", tooFew.Message);
    }
}

public sealed class DeadLetterProbeSpec : TallyNodeSpec
{
    [Fact]
    public async Task A_poison_message_is_awaited_in_its_dead_letter_queue_and_a_missing_one_fails_listing_the_queue()
    {
        var (topic, dlq) = (Unique("alerts"), Unique("alerts-dlq"));
        await using var sub = await Bus.SubscribeAsync<Threat>(topic,
            (m, _) => m.Payload.Severity == 13 ? throw new FormatException("poison") : Task.CompletedTask,
            new SubscriptionOptions { MaxRetries = 2, RetryBackoff = TimeSpan.FromMilliseconds(20), DeadLetterQueue = dlq });
        await Bus.PublishAsync(topic, new Threat(13, "bad"));

        var probe = DeadLetterProbe(dlq);
        var letter = await probe.ExpectDeadLetterAsync<Threat>(t => t.Severity == 13);
        Assert.Equal(3, letter.Attempts);
        Assert.Equal("bad", probe.PayloadOf<Threat>(letter).Name);
        await probe.ExpectCountAsync(1);

        var missing = await Assert.ThrowsAsync<EventDrivenAssertionException>(() =>
            probe.ExpectDeadLetterAsync<Threat>(t => t.Severity == 7, "severity 7", TimeSpan.FromMilliseconds(500)));
        Assert.Contains($"DeadLetterProbe on '{dlq}': expected a dead letter (severity 7) within 00:00:00.5000000, but the queue holds 1 letter:", missing.Message);
        Assert.Contains($"probe.threat.v1 {{\"severity\":13,\"name\":\"bad\"}} from '{topic}' after 3 attempts: System.FormatException: poison", missing.Message);

        var notEmpty = await Assert.ThrowsAsync<EventDrivenAssertionException>(() => probe.ExpectEmptyAsync(TimeSpan.FromMilliseconds(100)));
        Assert.Contains("expected no dead letter, but it holds 1 letter", notEmpty.Message);
    }
}

public sealed class ProjectionProbeSpec : TallyNodeSpec
{
    // The read model: open tallies by name. The buggy projection misses TallyClosed.
    private Projection Project(string prefix, ConcurrentDictionary<string, string> open, bool buggy) =>
        Projection.AtLeastOnce(Sys, new ProjectionId(Unique("open-tallies")), (e, ct) =>
        {
            if (!e.PersistenceId.Contains(prefix, StringComparison.Ordinal)) return Task.CompletedTask;
            switch (e.Event)
            {
                case TallyOpened o: open[e.PersistenceId] = o.Name; break;
                case TallyClosed when !buggy: open.TryRemove(e.PersistenceId, out _); break;
            }
            return Task.CompletedTask;
        }, new ProjectionSettings(Tag: Tally.Definition.Name, PollInterval: TimeSpan.FromMilliseconds(50)));

    private async Task WriteAsync(string prefix)
    {
        foreach (var name in new[] { "a", "b", "c" }) await ExpectAcceptedAsync(Tally.Definition, $"{prefix}-{name}", new OpenTally(name));
        await ExpectAcceptedAsync(Tally.Definition, $"{prefix}-b", new CloseTally());
    }

    [Fact]
    public async Task The_read_model_is_checked_once_the_projection_caught_up_with_the_journal()
    {
        var prefix = Unique("p");
        await WriteAsync(prefix);
        var open = new ConcurrentDictionary<string, string>();
        await using var projection = Project(prefix, open, buggy: false);
        var probe = ProjectionProbe(projection);
        await probe.ExpectReadModelAsync(_ => Task.FromResult(open.Values.Order().ToList()), ["a", "c"]);
        var status = await probe.CaughtUpAsync();
        Assert.True(status.Offset >= status.JournalOffset);
    }

    [Fact]
    public async Task A_projection_that_misses_an_event_fails_showing_expected_and_actual_read_model()
    {
        var prefix = Unique("p");
        await WriteAsync(prefix);
        var open = new ConcurrentDictionary<string, string>();
        await using var projection = Project(prefix, open, buggy: true);
        var probe = ProjectionProbe(projection);
        var failure = await Assert.ThrowsAsync<EventDrivenAssertionException>(() =>
            probe.ExpectReadModelAsync(_ => Task.FromResult(open.Values.Order().ToList()), ["a", "c"]));
        Assert.Contains($"Read model of projection {projection.Id} after it caught up (Running, offset", failure.Message);
        Assert.Contains("expected [a, c], actual [a, b, c]", failure.Message);

        var assertion = await Assert.ThrowsAsync<EventDrivenAssertionException>(() =>
            probe.AssertReadModelAsync(_ => { Assert.DoesNotContain("b", open.Values); return Task.CompletedTask; }));
        Assert.Contains($"Read model of projection {projection.Id} is not as expected after it caught up", assertion.Message);
    }
}

public sealed class SagaProbeSpec : TallyNodeSpec
{
    public sealed class Trip
    {
        public bool FailPayment { get; set; }
    }

    private readonly ConcurrentQueue<string> _undone = new();

    private SagaDefinition<Trip> Booking(string name, bool reservationFirst) => SagaDefinition.Define<Trip>(name, s =>
    {
        var steps = new (string Id, Func<SagaContext<Trip>, CancellationToken, Task> Action)[]
        {
            ("reserve-seat", (_, _) => Task.CompletedTask),
            ("book-hotel", (_, _) => Task.CompletedTask),
        };
        foreach (var (id, action) in reservationFirst ? steps : steps.Reverse())
            s.Step(id, id, action: action, compensation: (_, _) => { _undone.Enqueue(id); return Task.CompletedTask; });
        s.Step("charge-card", "Charge the card", action: (ctx, _) => ctx.Data.FailPayment ? throw new InvalidOperationException("card declined") : Task.CompletedTask);
    });

    protected override void ConfigureAkka(AkkaConfigurationBuilder builder) =>
        builder.WithSagas(s => s.Add(Booking("booking", reservationFirst: true)).Add(Booking("booking-wrong-order", reservationFirst: false)));

    [Fact]
    public async Task A_saga_is_awaited_and_its_steps_and_compensations_are_checked_in_order()
    {
        var sagas = SagaProbe();
        var ok = await sagas.Orchestrator.ExecuteAsync("booking", new Trip());
        (await sagas.ExpectStateAsync(ok, SagaState.Completed)).WithCompletedSteps("reserve-seat", "book-hotel", "charge-card");

        var declined = await sagas.Orchestrator.ExecuteAsync("booking", new Trip { FailPayment = true });
        (await sagas.ExpectStateAsync(declined, SagaState.Compensated))
            .WithCompletedSteps("reserve-seat", "book-hotel")
            .WithCompensations("book-hotel", "reserve-seat")
            .WithFailedAttempts("charge-card", 1)
            .WithData<Trip>(t => Assert.True(t.FailPayment));
        await TestWait.UntilAsync(() => { Assert.Equal(["book-hotel", "reserve-seat"], _undone); return Task.CompletedTask; });
    }

    [Fact]
    public async Task A_saga_that_compensates_in_the_wrong_order_fails_showing_its_history()
    {
        var sagas = SagaProbe();
        var id = await sagas.Orchestrator.ExecuteAsync("booking-wrong-order", new Trip { FailPayment = true });
        var done = await sagas.ExpectStateAsync(id, SagaState.Compensated);
        var failure = Assert.Throws<EventDrivenAssertionException>(() => done.WithCompensations("book-hotel", "reserve-seat"));
        Assert.Contains($"Saga {id}: expected compensations [book-hotel, reserve-seat], actual [reserve-seat, book-hotel] (the same steps in another order).", failure.Message);
        Assert.Contains("history:\n    book-hotel attempt 1: ok\n    reserve-seat attempt 1: ok\n    charge-card attempt 1: failed (", failure.Message);

        var wrongState = await Assert.ThrowsAsync<EventDrivenAssertionException>(() => sagas.ExpectStateAsync(id, SagaState.Completed));
        Assert.Contains($"Saga {id}: expected Completed, but it finished Compensated.", wrongState.Message);
        var unknown = await Assert.ThrowsAsync<EventDrivenAssertionException>(() => sagas.ExpectStateAsync("no-such-saga", SagaState.Completed, TimeSpan.FromMilliseconds(300)));
        Assert.Contains("no saga with this id was started", unknown.Message);
    }
}
