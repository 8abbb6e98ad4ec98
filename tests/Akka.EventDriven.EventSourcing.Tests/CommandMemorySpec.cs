using Akka.EventDriven.EventSourcing.Internal;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>An aggregate's remembered command ids: found while within the window and the bound, let go oldest first,
/// the same whether they are kept in the small array (up to 4) or in the dictionary beyond it.</summary>
public sealed class CommandMemorySpec
{
    private static CommandKey Key(int n) => CommandKey.Of($"cmd-{n}");

    [Theory]
    [InlineData(3)]   // stays in the small array
    [InlineData(4)]   // fills it
    [InlineData(12)]  // moves to the dictionary
    public void Ids_are_found_until_the_bound_lets_the_oldest_go(int max)
    {
        var memory = new CommandMemory();
        for (var n = 0; n < 20; n++) memory.Add(Key(n), FirstAnswer.Stored(n, 1), at: 1_000 + n, since: 0, max);
        Assert.Equal(max, memory.Count);
        for (var n = 0; n < 20; n++)
        {
            var found = memory.TryGet(Key(n), out var answer);
            Assert.Equal(n >= 20 - max, found);
            if (found) Assert.Equal(n, answer.Version);
        }
        Assert.Equal(Enumerable.Range(20 - max, max).Reverse().Select(n => (long)n),
            memory.NewestFirst().Select(e => e.Answer.Version));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(8)]
    public void Ids_stored_before_the_window_are_let_go_and_a_repeat_keeps_its_first_answer(int count)
    {
        var memory = new CommandMemory();
        for (var n = 0; n < count; n++) memory.Add(Key(n), FirstAnswer.Stored(n, 1), at: 100 + n, since: 0, max: 100);
        memory.Add(Key(0), FirstAnswer.Stored(999, 1), at: 500, since: 0, max: 100); // a repeat: the first answer stays
        Assert.True(memory.TryGet(Key(0), out var first));
        Assert.Equal(0, first.Version);
        // A later add whose window starts after the first half lets that half go.
        memory.Add(Key(50), FirstAnswer.Stored(50, 1), at: 600, since: 100 + count / 2, max: 100);
        for (var n = 0; n < count; n++) Assert.Equal(n >= count / 2, memory.TryGet(Key(n), out _));
        Assert.True(memory.TryGet(Key(50), out _));
    }
}
