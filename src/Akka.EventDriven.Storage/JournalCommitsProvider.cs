using Akka.Actor;

namespace Akka.EventDriven.Storage;

/// <summary>Creates the <see cref="JournalCommits"/> of an actor system.</summary>
public sealed class JournalCommitsProvider : ExtensionIdProvider<JournalCommits>
{
    /// <inheritdoc />
    public override JournalCommits CreateExtension(ExtendedActorSystem system) => new();
}
