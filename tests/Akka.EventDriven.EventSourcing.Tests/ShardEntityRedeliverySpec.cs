using Akka.Actor;
using Akka.EventDriven.EventSourcing.Internal;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>
/// The aggregate's sharded parent and a child that stops with messages it never handled (Akka stops a persistent actor
/// right after a failed write and drops its mailbox; a state read sent just behind the failed command is one of them,
/// loaded CI run 17): those messages go to the fresh child, in order, once; one the fresh child drops too fails.
/// </summary>
public sealed class ShardEntityRedeliverySpec : Akka.TestKit.Xunit2.TestKit
{
    /// <summary>A scripted stand-in for the persistent child: ready at once; answers each message with which incarnation
    /// handled it, or stops without answering (dropping its mailbox) when <c>drops</c> says so.</summary>
    private sealed class ScriptedChild(int incarnation, Func<int, string, bool> drops) : UntypedActor
    {
        protected override void PreStart() => Context.Parent.Tell(new AggregateShardEntity.ChildReady());

        protected override void OnReceive(object message)
        {
            if (message is not AggregateShardEntity.Numbered { Message: GetAggregateState read } numbered) return;
            if (drops(incarnation, read.AggregateId))
            {
                Context.Stop(Self);
                return;
            }
            Sender.Tell($"{read.AggregateId} by child {incarnation}");
            Context.Parent.Tell(new AggregateShardEntity.Answered(numbered.N));
        }
    }

    private IActorRef Entity(Func<int, string, bool> drops, Action<int> started)
    {
        var incarnations = 0;
        return Sys.ActorOf(Props.Create(typeof(AggregateShardEntity), "agg-1", new Func<Props>(() =>
        {
            var n = Interlocked.Increment(ref incarnations);
            started(n);
            return Props.Create(() => new ScriptedChild(n, drops));
        }), 100));
    }

    [Fact]
    public void Messages_a_stopped_child_never_handled_are_handled_by_the_fresh_child_in_order()
    {
        var entity = Entity((incarnation, label) => incarnation == 1 && label == "r1", _ => { });
        foreach (var label in new[] { "r1", "r2", "r3" }) entity.Tell(new GetAggregateState(label), TestActor);
        ExpectMsg("r1 by child 2");
        ExpectMsg("r2 by child 2");
        ExpectMsg("r3 by child 2");
        entity.Tell(new GetAggregateState("r4"), TestActor);
        ExpectMsg("r4 by child 2");
    }

    [Fact]
    public void A_message_every_child_drops_fails_after_one_resend_instead_of_looping()
    {
        var started = new List<int>();
        var entity = Entity((_, label) => label == "poison", n => { lock (started) started.Add(n); });
        entity.Tell(new GetAggregateState("poison"), TestActor);
        var failed = ExpectMsg<CommandFailed>();
        Assert.Contains("restarted", failed.Reason);
        lock (started) Assert.Equal([1, 2], started);
        // The entity carries on: the next message starts a third child, which answers it.
        entity.Tell(new GetAggregateState("fine"), TestActor);
        ExpectMsg("fine by child 3");
    }
}
