using Akka.Actor;

namespace Akka.EventDriven.Storage;

/// <summary>
/// Tells the journal's readers on this node (projections) that the node's journal has just committed rows, so that a
/// reader waiting for its next poll reads them at once: a projection on the node that writes follows it within a round
/// trip instead of a polling interval. Rows written by other nodes are still found by polling. One per actor system.
/// </summary>
public sealed class JournalCommits : IExtension
{
    private TaskCompletionSource _next = NewSource();

    /// <summary>The journal commits of <paramref name="system"/>.</summary>
    public static JournalCommits For(ActorSystem system) => system.WithExtension<JournalCommits, JournalCommitsProvider>();

    /// <summary>Completes at the first commit after this property was read: read it before looking at the journal, then
    /// wait on it if nothing new was found.</summary>
    public Task Next => Volatile.Read(ref _next).Task;

    /// <summary>Called by the journal after each committed batch of writes.</summary>
    internal void Committed() => Interlocked.Exchange(ref _next, NewSource()).TrySetResult();

    // Asynchronous continuations: a reader's step never runs on the journal's committing thread.
    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
