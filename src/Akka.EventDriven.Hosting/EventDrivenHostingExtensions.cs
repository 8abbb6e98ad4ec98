using Akka.Cluster;
using Akka.Configuration;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.EventSourcing.Serialization;
using Akka.EventDriven.Storage;
using Akka.Hosting;

namespace Akka.EventDriven.Hosting;

/// <summary>The Akka.Hosting entry point of Akka.EventDriven.</summary>
public static class EventDrivenHostingExtensions
{
    /// <summary>
    /// Wires Akka.EventDriven into an actor system in one call: the environment overlay, cluster provider (a node
    /// with no seed nodes joins itself), Akka.Persistence.Sql on SQLite or PostgreSQL, the JSON serializer with its
    /// type registry, and one sharding region per aggregate.
    /// <code>
    /// services.AddAkka("intelops", b =&gt; b.WithEventDriven(o =&gt;
    /// {
    ///     o.EnvironmentFile = "hocon/development.conf";
    ///     o.RegisterTypes(typeof(Investigation).Assembly);
    ///     o.AddAggregate(new Investigation(), a =&gt; a.SnapshotEvery = 100);
    /// }));
    /// </code>
    /// </summary>
    public static AkkaConfigurationBuilder WithEventDriven(this AkkaConfigurationBuilder builder, Action<EventDrivenOptions> configure)
    {
        var options = new EventDrivenOptions();
        configure(options);
        var config = BuildConfig(options, out var store);

        builder.AddHocon(config, HoconAddMode.Prepend);
        builder.AddSetup(new MessageTypesSetup(options.Registry));
        builder.AddStartup(async (system, _) =>
        {
            await PrepareStoreAsync(store);
            // The store's first trip runs while the node joins; aggregates start only after both.
            var warmUp = StoreWarmUp.RunAsync(system,
                system.Settings.Config.GetTimeSpan($"{StoreSettings.ConfigPath}.warm-up-timeout", TimeSpan.FromSeconds(30)));
            var cluster = Cluster.Cluster.Get(system);
            if (system.Settings.Config.GetBoolean("akka.event-driven.cluster.join-self-when-no-seed-nodes")
                && system.Settings.Config.GetStringList("akka.cluster.seed-nodes").Count == 0)
                await cluster.JoinAsync(cluster.SelfAddress);
            await warmUp;
            foreach (var aggregate in options.Aggregates)
                await aggregate.Start(system, AggregateSettings.Create(system, aggregate.Name));
        });
        return builder;
    }

    /// <summary>The configuration <see cref="WithEventDriven"/> adds for <paramref name="options"/>: options over the
    /// environment file over reference.conf, plus the derived Akka.Persistence.Sql plugin configuration.</summary>
    public static Config BuildConfig(EventDrivenOptions options, out StoreSettings store)
    {
        var config = ConfigurationFactory.ParseString(options.Persistence.ToHocon() +
                                                      string.Concat(options.Aggregates.Select(a => a.Options.ToHocon(a.Name))));
        if (options.EnvironmentFile is not null && options.Environment is not null)
            throw new ArgumentException($"Set either Environment ('{options.Environment}') or EnvironmentFile ('{options.EnvironmentFile}'), not both.",
                nameof(options));
        if (options.EnvironmentFile is { } file)
            config = config.WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(ResolveFile(file))));
        if (options.Environment is { } environment)
            config = config.WithFallback(ConfigurationFactory.ParseString(EventDrivenOptions.EmbeddedEnvironment(environment)));
        config = config.WithFallback(ConfigurationFactory.ParseString("akka.actor.provider = cluster"))
            .WithFallback(EventSourcingConfig.DefaultConfig())
            .WithFallback(EventBus.EventBusConfig.DefaultConfig())
            .WithFallback(Projections.ProjectionsConfig.DefaultConfig());

        foreach (var aggregate in options.Aggregates)
            AggregateSettings.Create(config, aggregate.Name); // fail fast on bad values, naming the aggregate
        store = StoreSettings.FromConfig(config);
        // Explicit akka.persistence settings (environment file) > derived plugin config > the plugin's defaults.
        return config.WithFallback(store.ToAkkaConfig()).WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultConfiguration);
    }

    private static string ResolveFile(string file)
    {
        if (Path.IsPathRooted(file) || File.Exists(file)) return file;
        var besideApp = Path.Combine(AppContext.BaseDirectory, file);
        if (File.Exists(besideApp)) return besideApp;
        throw new FileNotFoundException($"Environment file '{file}' was found neither in '{Environment.CurrentDirectory}' nor in '{AppContext.BaseDirectory}'.", file);
    }

    /// <summary>SQLite: creates the file's folder and turns on WAL so readers do not block the journal.</summary>
    private static Task PrepareStoreAsync(StoreSettings store) => store.PrepareAsync();
}
