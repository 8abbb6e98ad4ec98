using Akka.Actor;

namespace Akka.EventDriven.Cqrs;

/// <summary>
/// The node's command bus and query bus (one each per actor system), made from <see cref="CqrsSettings"/> on first use
/// and disposed in the service-stop phase of coordinated shutdown. <c>WithCqrs</c> registers handlers on them; the HTTP
/// API (<c>POST /api/commands</c>, <c>POST /api/queries</c>) uses them too.
/// </summary>
public sealed class CqrsExtension : IExtension
{
    internal CqrsExtension(ExtendedActorSystem system)
    {
        Settings = CqrsSettings.Create(system);
        Commands = new CommandBus();
        Queries = new QueryBus(system, Settings.QueryCacheCapacity, Settings.InvalidateFromJournal);
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceStop, "dispose-query-bus", async () =>
        {
            await Queries.DisposeAsync().ConfigureAwait(false);
            return Done.Instance;
        });
    }

    /// <summary>The settings the buses were made with.</summary>
    public CqrsSettings Settings { get; }

    /// <summary>The node's command bus.</summary>
    public CommandBus Commands { get; }

    /// <summary>The node's query bus.</summary>
    public QueryBus Queries { get; }

    /// <summary>The buses of <paramref name="system"/>.</summary>
    public static CqrsExtension Get(ActorSystem system) => system.WithExtension<CqrsExtension, CqrsExtensionProvider>();
}
