using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe.Internal;

namespace Akka.EventDriven.EventBus.Internal;

/// <summary>Fast-path backpressure: how far the node's pub-sub mediator is behind this node's fast-path publishes, and
/// a task to wait on while it is too far behind.</summary>
internal sealed class MediatorBacklog(IActorRef mediator, Task terminated)
{
    private readonly IActorRef _mediator = mediator;
    private readonly Task _terminated = terminated;

    // A fast-path publish is a Tell to the node's mediator, whose mailbox is unbounded:
    // publishers that outrun it (tight loops, a starved dispatcher) would grow it, and the process, without bound. So
    // every ProbeEvery-th publish also sends the mediator a numbered CountSubscribers probe, which it answers after the
    // publishes ahead of it. Answers come in mailbox order, so the highest number answered retires every earlier probe;
    // a probe that times out is not counted as answered (the mediator is still behind) but sent again. While more than
    // WaitBeyond probes are unanswered (the mediator is more than about 8k publishes behind), PublishAsync waits for the
    // next answer (one interval: a caller that waited once then publishes, so a flood of Publish calls cannot starve
    // it); Publish, with no task to wait on, drops while more than DropBeyond are (about 128k publishes).
    private const int ProbeEvery = 512;
    /// <summary>Unanswered probes beyond which <c>PublishAsync</c> waits (about 8k publishes).</summary>
    public const int WaitBeyond = 16;
    /// <summary>Unanswered probes beyond which <c>Publish</c> (no task to wait on) drops (about 128k publishes).</summary>
    public const int DropBeyond = 256;
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(10);
    private long _fastPublishes;
    private long _probeSent;     // the number of the last probe sent
    private long _probeAnswered; // the highest number answered
    // Completed (and replaced) at each answer. Continuations run on the thread pool, never inline on the actor thread
    // that delivers the answer.
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private bool IsBehind(int beyond) => Volatile.Read(ref _probeSent) - Volatile.Read(ref _probeAnswered) > beyond;

    /// <summary>Null if the publish may be sent now (almost always): the mediator is at most <paramref name="beyond"/>
    /// probe intervals behind this node's fast-path publishes; the publish is then counted. Otherwise a task that
    /// completes at the mediator's next answer; the publish is not counted (<see cref="Admit"/> it after waiting, or
    /// drop it).</summary>
    public Task? Behind(string topic, int beyond)
    {
        if (IsBehind(beyond))
        {
            var next = Volatile.Read(ref _progress).Task;
            // Checked again after reading the task: an answer between the first check and the read may have been the
            // last one outstanding, and then no later answer would complete the task read.
            if (IsBehind(beyond)) return next;
        }
        Admit(topic);
        return null;
    }

    /// <summary>Counts a fast-path publish about to be sent (sending a probe every <see cref="ProbeEvery"/>).</summary>
    public void Admit(string topic)
    {
        if (Interlocked.Increment(ref _fastPublishes) % ProbeEvery == 0) SendProbe(topic);
    }

    private void SendProbe(string topic)
    {
        var number = Interlocked.Increment(ref _probeSent);
        Task<object> answer;
        try { answer = _mediator.Ask<object>(new CountSubscribers(topic), ProbeTimeout); }
        catch (Exception) { Answered(number); return; } // the actor system is gone: nothing to wait for
        answer.ContinueWith(static (t, state) =>
        {
            var (gate, number, topic) = ((MediatorBacklog, long, string))state!;
            if (t.IsCompletedSuccessfully) gate.Answered(number);
            else if (gate._terminated.IsCompleted) gate.Answered(Volatile.Read(ref gate._probeSent));
            else gate.SendProbe(topic); // timed out: still behind (or stuck), so ask again rather than count it caught up
        }, (this, number, topic), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private void Answered(long number)
    {
        for (var seen = Volatile.Read(ref _probeAnswered); seen < number; seen = Volatile.Read(ref _probeAnswered))
            if (Interlocked.CompareExchange(ref _probeAnswered, number, seen) == seen) break;
        Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously))
            .TrySetResult();
    }
}
