// The event loop's own guarantees: a posted callback runs once, after what
// is being dispatched, and is freed whether it ran or the loop ended first.

#include "event-loop.hpp"

#include <gtest/gtest.h>
#include <memory>

namespace wcbroker {
namespace {

using namespace std::chrono_literals;

TEST(EventLoop, PostedCallbackRunsOnceAndIsFreed)
{
    auto token = std::make_shared<int>(0);
    {
        EventLoop loop;
        loop.post([token] { ++*token; });
        EXPECT_EQ(token.use_count(), 2);
        while (loop.run_once(0us)) {
        }
        EXPECT_EQ(*token, 1);
        EXPECT_FALSE(loop.run_once(0us)) << "nothing left to run";
        EXPECT_EQ(token.use_count(), 1) << "the callback is freed once it ran";
    }
    EXPECT_EQ(*token, 1);
}

TEST(EventLoop, CallbackPostedButNeverRunIsFreedWithTheLoop)
{
    auto token = std::make_shared<int>(0);
    {
        EventLoop loop;
        loop.post([token] { ++*token; });
        // The daemon can stop between posting a signal and sending it.
    }
    EXPECT_EQ(*token, 0);
    EXPECT_EQ(token.use_count(), 1);
}

TEST(EventLoop, PostFromACallbackRunsOnTheNextIteration)
{
    EventLoop loop;
    int order = 0;
    int outer = 0;
    int inner = 0;
    loop.post([&] {
        outer = ++order;
        loop.post([&] { inner = ++order; });
    });
    while (loop.run_once(0us)) {
    }
    EXPECT_EQ(outer, 1);
    EXPECT_EQ(inner, 2);
}

} // namespace
} // namespace wcbroker
