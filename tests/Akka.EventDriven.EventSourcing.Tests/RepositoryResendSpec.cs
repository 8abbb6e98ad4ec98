using System.Diagnostics;
using Akka.Actor;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>
/// The repository's resend (idempotency.resend-after): sharding drops what reaches a shard while it is handed off, so a
/// state query or a command with an id that gets no answer is sent again, then after twice as long, until its timeout.
/// Here a stand-in for the sharding region drops the first messages it gets, or answers late.
/// </summary>
public sealed class RepositoryResendSpec : Akka.TestKit.Xunit2.TestKit
{
    /// <summary>Drops the first <paramref name="drops"/> messages; answers each later one (after
    /// <paramref name="answerAfter"/>) with the number of messages it had received when it got it; "count" asks how many.</summary>
    private sealed class FlakyRegion(int drops, TimeSpan answerAfter) : UntypedActor
    {
        private int _received;

        protected override void OnReceive(object message)
        {
            if (message is "count")
            {
                Sender.Tell(_received);
                return;
            }
            var n = ++_received;
            if (n <= drops || message is not GetAggregateState query) return;
            var reply = new AggregateStateReply(query.AggregateId, n, new LedgerState("kim", 0m, n), new RecoveryStats(null, 0));
            if (answerAfter <= TimeSpan.Zero) Sender.Tell(reply);
            else Context.System.Scheduler.ScheduleTellOnce(answerAfter, Sender, reply, Self);
        }
    }

    private AggregateRepository<LedgerState> Repository(Props region, TimeSpan resendAfter, TimeSpan timeout) =>
        Repository(Sys.ActorOf(region), resendAfter, timeout);

    private AggregateRepository<LedgerState> Repository(IActorRef region, TimeSpan resendAfter, TimeSpan timeout) =>
        new(Sys, region, Ledger.Definition,
            new AggregateSettings(0, 1, false, TimeSpan.FromMinutes(2), timeout, 100,
                ResendAfter: resendAfter, IdempotencyWindow: TimeSpan.FromSeconds(30)));

    [Fact]
    public async Task A_query_that_gets_no_answer_is_sent_again_and_the_answer_to_the_resend_is_returned()
    {
        var repository = Repository(Props.Create(() => new FlakyRegion(1, TimeSpan.Zero)), TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10));
        var state = await repository.GetStateAsync("a-1");
        Assert.Equal(2, state.Version); // the first was dropped; the second (the resend) was answered
    }

    [Fact]
    public async Task Resends_go_on_twice_as_late_each_time_until_one_is_answered()
    {
        var repository = Repository(Props.Create(() => new FlakyRegion(3, TimeSpan.Zero)), TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10));
        var clock = Stopwatch.StartNew();
        var state = await repository.GetStateAsync("a-2");
        Assert.Equal(4, state.Version);
        // Sent at 0, 100, 300 and 700 ms: the answer cannot come before the fourth send.
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(690), $"answered after {clock.Elapsed.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task A_first_answer_that_comes_after_the_resend_is_due_still_wins()
    {
        // Every message is answered, 250 ms late: the first ask's answer arrives after the resend at 100 ms was sent,
        // and before the resend's own answer.
        var repository = Repository(Props.Create(() => new FlakyRegion(0, TimeSpan.FromMilliseconds(250))), TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10));
        var state = await repository.GetStateAsync("a-3");
        Assert.Equal(1, state.Version);
    }

    [Fact]
    public async Task A_region_that_never_answers_times_out_with_a_clear_error_at_the_timeout()
    {
        var repository = Repository(Props.Create(() => new FlakyRegion(int.MaxValue, TimeSpan.Zero)), TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1));
        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<TimeoutException>(() => repository.GetStateAsync("a-4"));
        Assert.Contains("got no answer within 1 s", error.Message);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(900), TimeSpan.FromSeconds(8));
    }

    [Fact]
    public async Task A_caller_cancelled_before_the_first_resend_stops_waiting_and_nothing_is_resent()
    {
        var region = Sys.ActorOf(Props.Create(() => new FlakyRegion(int.MaxValue, TimeSpan.Zero)));
        var repository = Repository(region, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(30));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => repository.GetStateAsync("a-6", cancel.Token));
        // The region got the one ask and no resend (one is due only after 20 s).
        region.Tell("count", TestActor);
        ExpectMsg(1);
    }

    [Fact]
    public async Task A_cancelled_caller_stops_waiting_during_the_resends()
    {
        var repository = Repository(Props.Create(() => new FlakyRegion(int.MaxValue, TimeSpan.Zero)), TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(30));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(400));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => repository.GetStateAsync("a-5", cancel.Token));
    }
}
