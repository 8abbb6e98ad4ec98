using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.EventDriven.EventSourcing.Internal;
using Akka.EventDriven.EventSourcing.Serialization;

namespace Akka.EventDriven.EventSourcing;

/// <summary>
/// The aggregates extension of an actor system (event sourcing): starts one sharding region per aggregate type and hands out
/// <see cref="AggregateRepository{TState}"/>s. With Akka.Hosting, <c>WithEventDriven(o =&gt; o.AddAggregate(...))</c> does this for you.
/// </summary>
public sealed class Aggregates : IExtension
{
    private readonly ExtendedActorSystem _system;
    private readonly ConcurrentDictionary<string, Lazy<Task<object>>> _repositories = new(StringComparer.Ordinal);

    internal Aggregates(ExtendedActorSystem system)
    {
        // An actor system built without this module's configuration still finds the aggregates' mailbox and defaults.
        system.Settings.InjectTopLevelFallback(EventSourcingConfig.DefaultConfig());
        _system = system;
    }

    /// <summary>The extension of <paramref name="system"/>.</summary>
    public static Aggregates Get(ActorSystem system) => system.WithExtension<Aggregates, AggregatesProvider>();

    /// <summary>Starts (once) the sharding region hosting <paramref name="aggregate"/> on this node and returns its
    /// repository. Settings default to <see cref="AggregateSettings.Create(ActorSystem,string)"/>.
    /// The aggregate's state type is registered as <c>{name}.state.v1</c> unless it already has a name.</summary>
    public async Task<AggregateRepository<TState>> StartAsync<TState>(
        Aggregate<TState> aggregate, AggregateSettings? settings = null, string? role = null) where TState : notnull
    {
        ArgumentNullException.ThrowIfNull(aggregate);
        PersistenceIds.ValidateAggregateName(aggregate.Name);
        var lazy = _repositories.GetOrAdd(aggregate.Name, _ => new Lazy<Task<object>>(async () =>
        {
            var s = (settings ?? AggregateSettings.Create(_system, aggregate.Name)).Validate(aggregate.Name);
            var registry = MessageTypes.For(_system);
            if (!registry.IsRegistered(typeof(TState)))
                registry.Register<TState>($"{aggregate.Name}.state", 1);

            var clusterSharding = ClusterSharding.Get(_system); // also loads the sharding defaults into the config
            var sharding = ClusterShardingSettings.Create(_system);
            if (role is not null) sharding = sharding.WithRole(role);
            sharding = sharding.WithPassivateIdleAfter(s.PassivateIdleAfter);
            var type = new AggregateType(_system, aggregate, s);
            var region = await clusterSharding.StartAsync(
                aggregate.Name,
                _ => type.Props, // one props for every entity: each takes its id from its name
                sharding,
                new AggregateMessageExtractor(100),
                clusterSharding.DefaultShardAllocationStrategy(sharding),
                AggregateActor.Stop.Instance);
            return new AggregateRepository<TState>(_system, region, aggregate, s);
        }));
        object repository;
        try
        {
            repository = await lazy.Value;
        }
        catch
        {
            // A failed start (bad settings, a cluster that was not up yet) must not be cached: the next call tries again.
            _repositories.TryRemove(new KeyValuePair<string, Lazy<Task<object>>>(aggregate.Name, lazy));
            throw;
        }
        return repository as AggregateRepository<TState>
               ?? throw new InvalidOperationException(
                   $"Aggregate name '{aggregate.Name}' is already used by an aggregate with another state type.");
    }

    /// <summary>The aggregate types started on this node, by name (whatever their state type).</summary>
    public IReadOnlyDictionary<string, IAggregateRepository> Started =>
        _repositories.Where(r => r.Value.IsValueCreated && r.Value.Value.IsCompletedSuccessfully)
            .ToDictionary(r => r.Key, r => (IAggregateRepository)r.Value.Value.Result, StringComparer.Ordinal);

    /// <summary>The repository of an aggregate started with <see cref="StartAsync{TState}"/> (or <c>AddAggregate</c> in <c>WithEventDriven</c>).</summary>
    public AggregateRepository<TState> Repository<TState>(Aggregate<TState> aggregate) where TState : notnull
    {
        if (!_repositories.TryGetValue(aggregate.Name, out var lazy) || !lazy.Value.IsCompletedSuccessfully)
            throw new InvalidOperationException($"Aggregate '{aggregate.Name}' has not been started on this node: add it with AddAggregate in WithEventDriven, or call Aggregates.Get(system).StartAsync.");
        return lazy.Value.Result as AggregateRepository<TState>
               ?? throw new InvalidOperationException($"Aggregate '{aggregate.Name}' was started with another state type.");
    }
}
