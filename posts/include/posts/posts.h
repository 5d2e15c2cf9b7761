/*
 * posts/posts.h - Umbrella header of the LinkedIn-posts pipeline library.
 */
#ifndef POSTS_POSTS_H
#define POSTS_POSTS_H

#include <posts/post.h>
#include <posts/config.h>
#include <posts/validate.h>
#include <posts/source.h>
#include <posts/preprocess.h>
#include <posts/model.h>
#include <posts/cache.h>
#include <posts/datagen.h>
#include <posts/api_server.h>
#include <posts/pipeline.h>
#include <posts/profile.h>
#include <posts/serve.h>

#endif
