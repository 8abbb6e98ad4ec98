using Akka.EventDriven.Storage;
using Npgsql;

namespace Akka.EventDriven.TestKit.Tests;

/// <summary>Every test node starts on an empty store of its own (a new SQLite file, or a new database on the PostgreSQL
/// server of <c>DATABASE_URL</c>), so fixed ids and tags of one test are never seen by another; nodes started on one
/// store instance share it until it is disposed.</summary>
public sealed class TestStoreSpec
{
    private static void Configure(Hosting.EventDrivenOptions o) =>
        o.RegisterTypes(typeof(Tally).Assembly).AddAggregate(Tally.Definition);

    [Fact]
    public async Task Nodes_started_without_a_store_never_see_each_others_events()
    {
        // A fixed id, as a README example or a sample's test uses: the second node must start from nothing.
        EventDrivenTestStore firstStore;
        await using (var first = await EventDrivenTestNode.StartAsync(Configure))
        {
            firstStore = first.Store;
            await first.ExpectAcceptedAsync(Tally.Definition, "tally-1", new OpenTally("beans"));
            await first.ExpectAcceptedAsync(Tally.Definition, "tally-1", new AddToTally(4));
        }
        Assert.False(await ExistsAsync(firstStore), "the node did not remove the store it created");
        await using var second = await EventDrivenTestNode.StartAsync(Configure);
        var state = await second.StateOfAsync(Tally.Definition, "tally-1");
        Assert.Equal(0, state.Version);
        Assert.Empty(await second.Repository(Tally.Definition).GetHistoryAsync("tally-1"));
    }

    [Fact]
    public async Task A_store_passed_to_nodes_keeps_their_events_until_it_is_disposed()
    {
        var store = EventDrivenTestStore.FromEnvironment();
        try
        {
            await using (var first = await EventDrivenTestNode.StartAsync(Configure, store: store))
                await first.ExpectAcceptedAsync(Tally.Definition, "tally-1", new OpenTally("beans"));
            Assert.True(await ExistsAsync(store), "the node removed a store it was given");

            await using (var restarted = await EventDrivenTestNode.StartAsync(Configure, store: store))
                Assert.Equal(1, (await restarted.StateOfAsync(Tally.Definition, "tally-1")).Version);
        }
        finally
        {
            await store.DisposeAsync();
        }
        Assert.False(await ExistsAsync(store), "the disposed store is still there");
    }

    private static async Task<bool> ExistsAsync(EventDrivenTestStore store)
    {
        if (store.Provider == StoreProvider.Sqlite)
            return File.Exists(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(store.ConnectionString).DataSource);
        Assert.NotNull(store.TemporaryDatabase);
        await using var connection = new NpgsqlConnection(store.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_database WHERE datname = @name", connection);
        command.Parameters.AddWithValue("name", store.TemporaryDatabase!);
        return (long)(await command.ExecuteScalarAsync())! == 1;
    }
}
