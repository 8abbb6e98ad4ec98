using Akka.Configuration;
using Akka.EventDriven.Storage;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>When an aggregate recovers in one read: only while the snapshot store is the one whose table the batched
/// journal reads. A snapshot store moved elsewhere must keep the two-step recovery, or the journal would find no
/// snapshot and recover from the remaining events alone.</summary>
public sealed class ReplayFromSnapshotConfigSpec
{
    private static Config Built(StoreProvider provider, bool batched = true) =>
        new StoreSettings(provider, provider == StoreProvider.Sqlite ? "Data Source=a.db" : "Host=db;Database=events",
            BatchedJournal: batched).Validate().ToAkkaConfig();

    [Theory]
    [InlineData(StoreProvider.Sqlite)]
    [InlineData(StoreProvider.PostgreSql)]
    public void The_configuration_the_platform_builds_recovers_in_one_read(StoreProvider provider) =>
        Assert.True(ReplayFromSnapshot.IsAnswered(Built(provider)));

    [Fact]
    public void Akka_Persistence_Sqls_own_journal_recovers_in_two_steps() =>
        Assert.False(ReplayFromSnapshot.IsAnswered(Built(StoreProvider.Sqlite, batched: false)));

    [Theory]
    [InlineData("akka.persistence.snapshot-store.sql.connection-string = \"Data Source=elsewhere.db\"")]
    [InlineData("akka.persistence.snapshot-store.sql.table-mapping = postgresql")]
    [InlineData("akka.persistence.snapshot-store.sql.class = \"Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql\"")]
    [InlineData("akka.persistence.snapshot-store.plugin = \"akka.persistence.snapshot-store.inmem\"")]
    public void A_snapshot_store_moved_by_an_override_recovers_in_two_steps(string overrideHocon) =>
        Assert.False(ReplayFromSnapshot.IsAnswered(ConfigurationFactory.ParseString(overrideHocon)
            .WithFallback(Built(StoreProvider.Sqlite))));
}
