using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Dispatch.MessageQueues;

namespace Akka.EventDriven.EventSourcing.Internal;

/// <summary>
/// The mailbox of every aggregate's actor (<c>akka.event-driven.event-sourcing.aggregate-mailbox</c>). Akka's
/// default unbounded mailbox is a <see cref="System.Collections.Concurrent.ConcurrentQueue{T}"/> whose first segment
/// holds 32 envelopes (about 1 KB per actor, allocated when the actor starts and kept for its life); with 100,000
/// active aggregates that is 100 MB of mailboxes that are empty nearly all the time. This one is a small ring under
/// a lock: 4 envelopes when the first message arrives, grown by doubling under a burst, and given back once it is
/// empty again if a burst grew it past 16. It supports the stash of a persistent actor (messages put back in front).
/// </summary>
internal sealed class CompactMailbox : MailboxType, IProducesMessageQueue<CompactMessageQueue>
{
    /// <summary>The configuration path of this mailbox.</summary>
    public const string Path = "akka.event-driven.event-sourcing.aggregate-mailbox";

    /// <summary>The deploy of every aggregate actor's props: this mailbox, one instance shared by all of them.</summary>
    public static readonly Deploy Deploy = Deploy.None.WithMailbox(Path);

    /// <summary>Created by Akka from configuration.</summary>
    public CompactMailbox(Settings settings, Config config) : base(settings, config) { }

    /// <inheritdoc />
    public override IMessageQueue Create(IActorRef owner, ActorSystem system) => new CompactMessageQueue();
}
