using Akka.Actor;
using Akka.Configuration;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.Storage;

namespace Akka.EventDriven.Hosting.Tests;

public sealed class HostingConfigSpec
{
    private sealed record S(int N);
    private sealed class Agg : Aggregate<S>
    {
        public override string Name => "Agg";
        public override S InitialState => new(0);
        public override S Apply(S state, object @event) => state;
        public override Decision Decide(S state, object command) => Decision.Accept();
    }

    [Fact]
    public void Null_options_fall_back_to_the_embedded_reference_conf()
    {
        var options = new EventDrivenOptions();
        options.AddAggregate(new Agg());
        var config = EventDrivenHostingExtensions.BuildConfig(options, out var store);

        Assert.Equal(StoreProvider.Sqlite, store.Provider);
        Assert.Equal("Data Source=eventdriven.db", store.ConnectionString);
        var settings = AggregateSettings.Create(config, "Agg");
        Assert.Equal(100, settings.SnapshotEvery);
        Assert.Equal(2, settings.KeepSnapshots);
        Assert.False(settings.DeleteEventsOnSnapshot);
        Assert.Equal("SQLite.MS", config.GetString("akka.persistence.journal.sql.provider-name"));
        Assert.Equal("akka.persistence.journal.event-driven-sqlite", config.GetString("akka.persistence.journal.plugin"));
    }

    [Theory]
    [InlineData(StoreProvider.Sqlite, "Data Source=plugins.db")]
    [InlineData(StoreProvider.PostgreSql, "Host=localhost;Database=plugins")]
    public void Every_plugin_class_in_the_generated_config_names_a_loadable_type(StoreProvider provider, string connectionString)
    {
        // The class strings are only resolved when Akka.Persistence starts a plugin: a stale one (a type that moved to
        // another namespace or assembly) compiles and fails at runtime.
        var config = new StoreSettings(provider, connectionString).ToAkkaConfig();
        var classes = new Dictionary<string, Type>
        {
            ["akka.persistence.journal.event-driven-postgresql.class"] = typeof(PostgreSqlJournal),
            ["akka.persistence.journal.event-driven-sqlite.class"] = typeof(SqliteJournal),
            ["akka.persistence.snapshot-store.sql.class"] = typeof(GuardedSqlSnapshotStore),
        };
        foreach (var (path, expected) in classes)
        {
            var name = config.GetString(path);
            Assert.Equal(expected, Type.GetType(name, throwOnError: true));
            Assert.Equal("Akka.EventDriven.Storage", expected.Assembly.GetName().Name);
        }
    }

    [Fact]
    public async Task Every_module_has_its_own_serializer_identifier()
    {
        const string events = "Akka.EventDriven.EventSourcing.Serialization.EventDrivenSerializer, Akka.EventDriven.EventSourcing";
        const string sagas = "Akka.EventDriven.Sagas.Internal.SagaSerializer, Akka.EventDriven.Sagas";
        const string bus = "Akka.EventDriven.EventBus.Internal.BusSerializer, Akka.EventDriven.EventBus";
        var config = Akka.EventDriven.EventSourcing.EventSourcingConfig.DefaultConfig()
            .WithFallback(Akka.EventDriven.EventBus.EventBusConfig.DefaultConfig())
            .WithFallback(Akka.EventDriven.Sagas.SagaConfig.DefaultConfig());
        static Dictionary<string, string> Strings(Config c, string path) =>
            c.GetConfig(path).Root.GetObject().Items.ToDictionary(kv => kv.Key, kv => kv.Value.GetString());

        // The identifiers are written with every stored event and snapshot and every remote message: each module has
        // its own, and they never change.
        var ids = config.GetConfig("akka.actor.serialization-identifiers").Root.GetObject().Items
            .ToDictionary(kv => kv.Key, kv => kv.Value.GetInt());
        Assert.Equal(new Dictionary<string, int> { [events] = 471174, [sagas] = 471175, [bus] = 471176 }, ids);
        Assert.Equal(new Dictionary<string, string> { ["event-driven"] = events, ["event-driven-sagas"] = sagas, ["event-driven-bus"] = bus },
            Strings(config, "akka.actor.serializers"));
        var bindings = new Dictionary<string, string>
        {
            ["Akka.EventDriven.EventSourcing.IEventDrivenMessage, Akka.EventDriven.EventSourcing"] = "event-driven",
            ["Akka.EventDriven.CommandResult, Akka.EventDriven.Contracts"] = "event-driven",
            ["Akka.EventDriven.Sagas.Internal.ISagaMessage, Akka.EventDriven.Sagas"] = "event-driven-sagas",
            ["Akka.EventDriven.EventBus.Internal.IBusWireMessage, Akka.EventDriven.EventBus"] = "event-driven-bus",
        };
        Assert.Equal(bindings, Strings(config, "akka.actor.serialization-bindings"));

        // The resulting settings: an actor system on this configuration picks each module's serializer for its messages,
        // and that serializer reports the configured identifier.
        var system = ActorSystem.Create("serializers", config);
        try
        {
            foreach (var (type, name) in bindings)
            {
                var serializer = system.Serialization.FindSerializerForType(Type.GetType(type, throwOnError: true)!);
                var serializerType = $"{serializer.GetType().FullName}, {serializer.GetType().Assembly.GetName().Name}";
                Assert.Equal(Strings(config, "akka.actor.serializers")[name], serializerType);
                Assert.Equal(ids[serializerType], serializer.Identifier);
            }
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public void Options_override_the_environment_file_which_overrides_reference_conf()
    {
        var options = new EventDrivenOptions { EnvironmentFile = "hocon/development.conf" };
        options.Persistence.BatchSize = 123;
        options.AddAggregate(new Agg(), a => a.SnapshotEvery = 7);
        var config = EventDrivenHostingExtensions.BuildConfig(options, out var store);

        Assert.Equal("Data Source=data/intelops.db", store.ConnectionString); // from development.conf
        Assert.Equal(123, store.BatchSize);                                   // from options
        Assert.Equal(123, config.GetInt("akka.persistence.journal.sql.batch-size"));
        Assert.Equal(7, AggregateSettings.Create(config, "Agg").SnapshotEvery);
        Assert.Equal(2, AggregateSettings.Create(config, "Agg").KeepSnapshots);
    }

    [Fact]
    public void Explicit_akka_persistence_settings_in_the_environment_file_beat_derived_and_plugin_defaults()
    {
        var file = Path.Combine(Path.GetTempPath(), $"env-{Guid.NewGuid():N}.conf");
        File.WriteAllText(file, """
            akka.persistence.query.journal.sql.journal-sequence-retrieval.query-delay = 3s
            akka.persistence.journal.sql.replay-batch-size = 77
            """);
        try
        {
            var config = EventDrivenHostingExtensions.BuildConfig(new EventDrivenOptions { EnvironmentFile = file }, out _);
            Assert.Equal(TimeSpan.FromSeconds(3), config.GetTimeSpan("akka.persistence.query.journal.sql.journal-sequence-retrieval.query-delay"));
            Assert.Equal(77, config.GetInt("akka.persistence.journal.sql.replay-batch-size"));
            Assert.Equal(2000, config.GetInt("akka.persistence.journal.sql.batch-size"));          // derived
            Assert.Equal(1000, config.GetInt("akka.persistence.query.journal.sql.replay-batch-size")); // plugin default
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Production_conf_takes_postgresql_from_DATABASE_URL()
    {
        var previous = Environment.GetEnvironmentVariable("DATABASE_URL");
        Environment.SetEnvironmentVariable("DATABASE_URL", "postgresql://app:s%40cret@db.internal:6543/events?sslmode=require");
        try
        {
            var config = EventDrivenHostingExtensions.BuildConfig(new EventDrivenOptions { EnvironmentFile = "hocon/production.conf" }, out var store);
            Assert.Equal(StoreProvider.PostgreSql, store.Provider);
            Assert.Contains("Host=db.internal", store.ConnectionString);
            Assert.Contains("Port=6543", store.ConnectionString);
            Assert.Contains("Database=events", store.ConnectionString);
            Assert.Contains("Password=s@cret", store.ConnectionString);
            Assert.Contains("SSL Mode=Require", store.ConnectionString);
            Assert.Equal("PostgreSQL.15", config.GetString("akka.persistence.journal.sql.provider-name"));
            Assert.False(config.GetBoolean("akka.event-driven.cluster.join-self-when-no-seed-nodes"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("DATABASE_URL", previous);
        }
    }

    [Fact]
    public void Bad_configuration_fails_fast_with_a_clear_message()
    {
        var badSnapshots = new EventDrivenOptions();
        badSnapshots.AddAggregate(new Agg(), a => a.KeepSnapshots = 0);
        var ex = Assert.Throws<ConfigurationException>(() => EventDrivenHostingExtensions.BuildConfig(badSnapshots, out _));
        Assert.Contains("Agg", ex.Message);
        Assert.Contains("keep-snapshots", ex.Message);

        var noUrl = new EventDrivenOptions();
        noUrl.Persistence.Provider = StoreProvider.PostgreSql;
        noUrl.Persistence.ConnectionString = "";
        var previous = Environment.GetEnvironmentVariable("DATABASE_URL");
        Environment.SetEnvironmentVariable("DATABASE_URL", null);
        try
        {
            Assert.Contains("DATABASE_URL", Assert.Throws<ConfigurationException>(() => EventDrivenHostingExtensions.BuildConfig(noUrl, out _)).Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable("DATABASE_URL", previous);
        }

        Assert.Throws<FileNotFoundException>(() => EventDrivenHostingExtensions.BuildConfig(new EventDrivenOptions { EnvironmentFile = "hocon/nope.conf" }, out _));
        Assert.Throws<ArgumentException>(() => new EventDrivenOptions().AddAggregate(new BadName()));
    }

    private sealed class BadName : Aggregate<S>
    {
        public override string Name => "bad name!";
        public override S InitialState => new(0);
        public override S Apply(S state, object @event) => state;
        public override Decision Decide(S state, object command) => Decision.Accept();
    }
}
